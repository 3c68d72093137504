"""`mobtrack figures` and `mobtrack changes`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mobtrack.cli._common import DbOption, JsonOption, console, print_json

Country = Annotated[str, typer.Option("--country", help="ISO3 country code.")]
Level = Annotated[int, typer.Option("--level", min=0, max=5, help="Admin level (0 country ... 4, 5 sites).")]
Operation = Annotated[str | None, typer.Option("--operation", help="Only this operation.")]
RoundNumber = Annotated[int | None, typer.Option("--round", help="Only this round number.")]
Latest = Annotated[bool, typer.Option("--latest", help="Only each operation's latest round.")]
Group = Annotated[str, typer.Option("--group", help="Population group, e.g. idps, returnees_internal.")]
Unit = Annotated[str, typer.Option("--unit", help="individuals or households.")]


def figures_command(country: Country, level: Level, operation: Operation = None, round_number: RoundNumber = None,
                    latest: Latest = False, group: Group = "idps", unit: Unit = "individuals",
                    db: DbOption = None, json: JsonOption = False) -> None:
    """Figures per place at an admin level; upper levels are computed from the lowest level present.

    Example: mobtrack figures --country HTI --level 1 --latest
    """
    from mobtrack.analytics import RoundFilter, figures
    from mobtrack.store.db import ensure_schema

    if latest and round_number is not None:
        raise typer.BadParameter("use either --round or --latest", param_hint="--latest")
    with ensure_schema(db).connect() as conn:
        frame = figures(conn, RoundFilter(country_iso3=country, operation=operation, round_number=round_number,
                                          latest=latest), level, group, unit)
    if json:
        print_json(frame.to_dicts())
        return
    for (op, kind, number, when), part in frame.group_by(
            ["operation", "assessment_type", "round", "reporting_date"], maintain_order=True):
        table = Table("p-code", "name", "value", title=f"{op} · {kind} round {number} · {when}")
        for r in part.iter_rows(named=True):
            table.add_row(r["pcode"], r["name"], "—" if r["value"] is None else f"{r['value']:,}")
        console.print(table)


def changes_command(country: Country, level: Level, operation: Operation = None, round_number: RoundNumber = None,
                    group: Group = "idps", unit: Unit = "individuals", db: DbOption = None,
                    json: JsonOption = False) -> None:
    """Change per place since the previous round of the same operation and assessment type.

    Example: mobtrack changes --country HTI --level 1 --operation "Countrywide monitoring"
    """
    from mobtrack.analytics import RoundFilter, changes
    from mobtrack.store.db import ensure_schema

    with ensure_schema(db).connect() as conn:
        frame = changes(conn, RoundFilter(country_iso3=country, operation=operation, round_number=round_number),
                        level, group, unit)
    if json:
        print_json(frame.to_dicts())
        return
    table = Table("operation", "round", "p-code", "name", "value", "previous", "change")
    for r in frame.iter_rows(named=True):
        table.add_row(r["operation"], str(r["round"]), r["pcode"], r["name"], f"{r['value']:,}",
                      "—" if r["previous_value"] is None else f"{r['previous_value']:,}",
                      "—" if r["change"] is None else f"{r['change']:+,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("figures")(figures_command)
    app.command("changes")(changes_command)
