"""Global statistics commands: `mobtrack stats load|consistency|crosswalk-report`, `mobtrack profile`,
`mobtrack od`. Each is a thin wrapper over mobtrack.stats; `--json` prints only JSON on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from mobtrack.cli._common import DbOption, JsonOption, console, fail, print_json

stats_app = typer.Typer(help="Global migration statistics: UN DESA, UNHCR, IDMC, World Bank.", no_args_is_help=True)

SourceOption = Annotated[str | None, typer.Option("--source", help="undesa | unhcr | idmc | worldbank (default: detect).")]


def _engine(db: str | None):
    from mobtrack.store.db import ensure_schema

    return ensure_schema(db)


@stats_app.command("load")
def load(
    paths: Annotated[list[Path], typer.Argument(help="Statistics files (.csv, .csv.gz, .tsv).")],
    source: SourceOption = None,
    year: Annotated[int | None, typer.Option("--year", help="Year of a file that does not state it (World Bank).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Reject a file with any rejected row.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Load statistics files; each lands whole in one transaction, and loading it again changes nothing.

    Example: mobtrack stats load ../shared/data/stats/undesa/undesa_stocks.csv.gz
    """
    from mobtrack.stats.facts import LoadError
    from mobtrack.stats.load import LOADERS, load_file

    if source is not None and source not in LOADERS:
        fail(f"unknown --source {source!r}; use one of {', '.join(LOADERS)}", code=2)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}", code=2)
    engine = _engine(db)
    results, failed = [], False
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("loading", total=len(paths))
        for path in paths:
            progress.update(task, description=f"loading {path.name}")
            try:
                result = load_file(engine, path, source=source, year=year, strict=strict)
                results.append(result.as_dict())
                failed |= result.status == "rejected"
            except LoadError as exc:
                results.append({"file": path.name, "status": "rejected", "message": str(exc), "issues": []})
                failed = True
            progress.advance(task)
    if json:
        print_json(results)
    else:
        for r in results:
            colour = {"loaded": "green", "unchanged": "cyan"}.get(r["status"], "red")
            line = f"[{colour}]{r['status']}[/{colour}] {r['file']}"
            if r.get("dataset"):
                line += f": {r['dataset']} {r['edition']}, {r['facts']:,} facts from {r['rows_read']:,} rows"
            if r.get("rejected_rows"):
                line += f", [yellow]{r['rejected_rows']} row(s) rejected[/yellow]"
            if r.get("superseded"):
                line += f" (supersedes release {', '.join(map(str, r['superseded']))})"
            console.print(line + (f" - {r['message']}" if r.get("message") else ""))
            for i in r["issues"][:20]:
                console.print(f"  {i['file']} row {i['row']} column {i['column']!r}: {i['message']}")
            if len(r["issues"]) > 20:
                console.print(f"  ... {len(r['issues']) - 20} more (use --json for all)")
    if failed:
        raise typer.Exit(1)


@stats_app.command("consistency")
def consistency_cmd(
    check: Annotated[list[str] | None, typer.Option("--check", help="Only this check (repeatable).")] = None,
    top: Annotated[int, typer.Option("--top", help="Rows to show per check in the table.")] = 10,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Where sources disagree on the same country and year, largest gaps first.

    Example: mobtrack stats consistency --check unhcr_idmc_vs_idmc
    """
    from mobtrack.stats.consistency import consistency

    try:
        result = consistency(_engine(db), checks=check)
    except KeyError as exc:
        fail(str(exc.args[0]), code=2)
    if json:
        print_json(result)
        return
    for s in result["checks"]:
        console.print(f"\n[bold]{s['check']}[/bold]: {s['a_source']}  vs  {s['b_source']}")
        console.print(f"  {s['explanation']}")
        console.print(f"  compared {s['compared']}, agree within 1%: {s['agree']}, disagree: {s['disagree']}, "
                      f"only in first: {s['only_in_a']}, only in second: {s['only_in_b']}")
        table = Table("country", "year", "first", "second", "gap", "gap %")
        for r in [r for r in result["rows"] if r["check"] == s["check"]][:top]:
            table.add_row(f"{r['country']} {r['name']}", str(r["year"]), f"{r['a_value']:,.0f}", f"{r['b_value']:,.0f}",
                          f"{r['gap']:+,.0f}", "" if r["gap_pct"] is None else f"{r['gap_pct']:+.1f}")
        console.print(table)
    for name, why in result["skipped"].items():
        console.print(f"[dim]skipped {name}: {why}[/dim]")


@stats_app.command("crosswalk-report")
def crosswalk_report(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files to check (default: what is loaded).")] = None,
    source: SourceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Every country code or name in the statistics: mapped, non-country category, or unmapped and why.
    Exits 1 when anything is unmapped.

    Example: mobtrack stats crosswalk-report ../shared/data/stats/worldbank/*.tsv
    """
    from mobtrack.stats.crosswalk_report import report_files, report_store
    from mobtrack.stats.facts import LoadError

    try:
        result = report_files(paths, source) if paths else report_store(_engine(db))
    except LoadError as exc:
        fail(str(exc), code=1)
    if json:
        print_json(result)
    else:
        cw = result["crosswalk"]
        console.print(f"crosswalk: {cw['entries']} entries ({', '.join(f'{k} {v}' for k, v in cw['by_kind'].items())})")
        for f in result["files"]:
            console.print(f"\n[bold]{f['file']}[/bold] ({f['dataset']}): {len(f['mapped'])} countries/territories "
                          f"mapped, {len(f['non_country'])} non-country categories, {len(f['unmapped'])} unmapped")
            for e in f["non_country"]:
                console.print(f"  [cyan]{e['code']}[/cyan] {e['name']}: {e['reason']}")
            for e in f["unmapped"]:
                console.print(f"  [red]{e['value']!r}[/red] ({e['column']}, {e['rows']} rows from row {e['first_row']}): "
                              f"{e['reason']}")
    if result["unmapped_total"]:
        raise typer.Exit(1)


@stats_app.command("rows")
def rows_cmd(
    release: Annotated[int, typer.Argument(help="Release id (a figure's ref.release).")],
    rows: Annotated[str, typer.Argument(help="Source rows, as in a figure's ref.rows: '2-5,9'.")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """The source rows behind a profile figure, as stored.

    Example: mobtrack stats rows 1 426-433
    """
    from mobtrack.stats.releases import release_rows

    try:
        with _engine(db).connect() as conn:
            found = release_rows(conn, release, rows)
    except ValueError as exc:
        fail(f"rows must look like '2-5,9': {exc}", code=2)
    if json:
        print_json(found)
        return
    if not found:
        fail(f"release {release} has no facts at rows {rows}", code=1)
    table = Table(*found[0].keys())
    for r in found:
        table.add_row(*["" if v is None else f"{v:,.0f}" if isinstance(v, float) else str(v) for v in r.values()])
    console.print(table)


def profile_cmd(
    country: Annotated[str, typer.Argument(help="ISO3 code (or a country name).")],
    year: Annotated[int | None, typer.Option("--year", help="Latest year to use (default: newest).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """A country's migration and displacement profile; every figure names its source, year and rows.

    Example: mobtrack profile SDN --year 2020 --json
    """
    from mobtrack.stats.profiles import profile

    try:
        result = profile(_engine(db), country, year)
    except KeyError as exc:
        fail(str(exc.args[0]), code=2)
    if json:
        print_json(result)
        return
    c = result["country"]
    console.print(f"[bold]{c['name']}[/bold] ({c['code']}, M49 {c['m49'] or '-'}, UNHCR {c['unhcr_code'] or '-'})")
    table = Table("figure", "value", "year", "file", "rows")

    def add(label: str, f: dict) -> None:
        ref = f["ref"]
        table.add_row(label, f"{f['value']:,.0f}", str(f["year"]), ref.get("file", ""), f"{ref.get('row_count', '')}")

    for name, fig in result["figures"].items():
        if name == "idps":
            for src, f in fig.items():
                if isinstance(f, dict):
                    add(f"idps ({src})", f)
                elif src != "note":
                    table.add_row(f"idps ({src})", "-", "", "not available", "")
        elif fig and "value" in fig:
            add(name, fig)
        elif fig and "items" in fig:
            shown = ", ".join(f"{i['country']} {i['value']:,.0f}" for i in fig["items"][:5])
            table.add_row(name, shown, str(fig["year"]), "", "")
    console.print(table)
    for name in result["missing"]:
        console.print(f"[dim]{name}: no data loaded[/dim]")
    console.print("[dim]sources: " + "; ".join(v for v in result["sources"].values() if v) + "[/dim]")
    console.print("[dim]--json gives every figure's definition and the source rows it sums[/dim]")


def od_cmd(
    source: Annotated[str, typer.Option("--source", help="undesa | unhcr | worldbank (and dtm, fm when installed).")],
    year: Annotated[int | None, typer.Option("--year", help="Year (default: newest).")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Start date (dated sources).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="End date (dated sources).")] = None,
    level: Annotated[str, typer.Option("--level", help="country | 1 | 2")] = "country",
    country: Annotated[str | None, typer.Option("--country", help="Only flows from or to this ISO3.")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Largest N corridors.")] = None,
    measure: Annotated[str | None, typer.Option("--measure", help="Source measure, e.g. UNHCR asylum_seekers.")] = None,
    net: Annotated[bool, typer.Option("--net", help="Net flows per country pair instead of gross.")] = False,
    places: Annotated[bool, typer.Option("--places", help="Add names and centroid lat/lon (for flow maps).")] = False,
    change_from: Annotated[int | None, typer.Option("--change-from", help="Change per corridor since this year.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Origin-destination matrix as a list of {origin, destination, value, source, period}.

    Example: mobtrack od --source undesa --year 2020 --country SYR --top 10 --json
    """
    from datetime import date

    import polars as pl

    from mobtrack.stats.od import OD_SOURCES, ODError, ODQuery, change, net_flows, od_matrix, with_places

    if source not in OD_SOURCES:
        fail(f"unknown --source {source!r}; available: {', '.join(sorted(OD_SOURCES))}", code=2)
    try:
        dates = [date.fromisoformat(d) if d else None for d in (date_from, date_to)]
    except ValueError as exc:
        fail(f"--from/--to must be YYYY-MM-DD: {exc}", code=2)
    if net and change_from is not None:
        fail("--net and --change-from cannot be combined", code=2)
    whole = net or change_from is not None  # both need every corridor before cutting to the top N
    query = ODQuery(year=year, date_from=dates[0], date_to=dates[1], level=level, country=country,
                    top=None if whole else top, measure=measure)
    try:
        engine = _engine(db)
        frame = od_matrix(engine, source, query)
        if change_from is not None:
            before = od_matrix(engine, source, ODQuery(**{**query.__dict__, "year": change_from}))
    except ODError as exc:
        fail(str(exc), code=1)
    if net:
        frame = net_flows(frame)
    if change_from is not None:
        period = frame["period"][0] if len(frame) else year
        frame = change(before, frame).with_columns(pl.lit(f"{change_from}->{period}").alias("period"))
    if whole and top:
        frame = frame.head(top)
    if places:
        frame = with_places(frame)
    if json:
        print_json(frame.to_dicts())
        return
    table = Table(*frame.columns)
    for row in frame.iter_rows():
        table.add_row(*[f"{v:,.0f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(stats_app, name="stats")
    app.command("profile")(profile_cmd)
    app.command("od")(od_cmd)
