"""`mobtrack flows`: flow-monitoring aggregates (by point, month, corridor, nationality, direction).

OD matrices are `mobtrack od --source fm|dtm` (cli/stats.py); this command answers "how many people
passed where, when". `--json` prints only JSON on stdout.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mobtrack.cli._common import DbOption, JsonOption, console, fail, print_json

VIEWS = ("point", "period", "corridor", "nationality", "direction")


def flows_cmd(
    by: Annotated[str, typer.Option("--by", help="point | period | corridor | nationality | direction")] = "point",
    country: Annotated[str | None, typer.Option("--country", help="ISO3 of the flow-monitoring points.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First month's date, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last date, YYYY-MM-DD.")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Only the N largest rows.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """People counted at flow-monitoring points, summed by point, month, corridor, nationality or direction.

    Example: mobtrack flows --by corridor --country NER --from 2024-01-01 --top 10 --json
    """
    from datetime import date

    from mobtrack.analytics import flows
    from mobtrack.store.db import ensure_schema

    if by not in VIEWS:
        fail(f"unknown --by {by!r}; use one of {', '.join(VIEWS)}", code=2)
    try:
        start, end = (date.fromisoformat(d) if d else None for d in (date_from, date_to))
    except ValueError as exc:
        fail(f"--from/--to must be YYYY-MM-DD: {exc}", code=2)
    with ensure_schema(db).connect() as conn:
        records = flows.flow_records(conn, country.upper() if country else None, start, end)
    if records.is_empty():
        fail("no flow-monitoring rounds in the store for this selection; import a DTM flow-monitoring file first")
    view = {"point": flows.by_point, "period": flows.by_period, "corridor": flows.by_corridor,
            "nationality": flows.by_nationality, "direction": flows.by_direction}[by](records)
    if top:
        view = view.sort("value", descending=True).head(top)
    if json:
        print_json(view.to_dicts())
        return
    table = Table(*view.columns)
    for row in view.iter_rows():
        table.add_row(*[f"{v:,}" if isinstance(v, int) else ("" if v is None else str(v)) for v in row])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("flows")(flows_cmd)
