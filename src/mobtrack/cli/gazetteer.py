"""`mobtrack gazetteer load|reviews|decide` and `mobtrack match`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from mobtrack.cli._common import DbOption, JsonOption, console, fail, print_json

CHUNK = 1000  # names per step of the progress bar

gazetteer_app = typer.Typer(help="Official places: load COD p-code lists and boundaries, settle doubtful matches.",
                            no_args_is_help=True)


def load_command(
    paths: Annotated[list[Path], typer.Argument(help="COD p-code lists (.csv/.xlsx) or boundary files "
                                                     "(.geojson/.shp); files given together form one version.")],
    country: Annotated[str | None, typer.Option("--country", help="ISO3 code, when the files do not say it.")] = None,
    version_name: Annotated[str | None, typer.Option("--version-name", help="Name of the boundary version "
                                                     "(default: the file names).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Load gazetteer files as a boundary version (one per country they cover).

    Example: mobtrack gazetteer load som_admbnda_adm1_ocha_20230308.geojson som_admbnda_adm2_ocha_20230308.geojson
    """
    from mobtrack.gazetteer.load import load_paths
    from mobtrack.gazetteer.readers import GazetteerFileError
    from mobtrack.store.db import ensure_schema

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}", 2)
    engine = ensure_schema(db)
    try:
        with console.status("loading gazetteer…"), engine.begin() as conn:
            results = load_paths(conn, paths, country_iso3=country, version_name=version_name)
    except GazetteerFileError as exc:
        fail(str(exc), 1)
    if json:
        print_json([r.as_dict() for r in results])
        return
    for r in results:
        levels = ", ".join(f"admin{lvl}: {n}" for lvl, n in r.units.items())
        console.print(f"[green]{r.status}[/green] {r.country_iso3} [bold]{r.name}[/bold] ({levels}; "
                      f"valid from {r.valid_from or '?'}{' to ' + r.valid_to if r.valid_to else ''})")


def versions_command(
    country: Annotated[str | None, typer.Option("--country", help="Only this country (ISO3).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List the boundary versions in the database, with their units per admin level."""
    from sqlalchemy import func, select

    from mobtrack.store.db import ensure_schema
    from mobtrack.store.schema import boundary_version, location

    query = (select(boundary_version.c.id, boundary_version.c.country_iso3, boundary_version.c.name,
                    boundary_version.c.valid_from, boundary_version.c.valid_to, location.c.admin_level,
                    func.count(location.c.id))
             .join(location, location.c.boundary_version_id == boundary_version.c.id)
             .group_by(boundary_version.c.id, boundary_version.c.country_iso3, boundary_version.c.name,
                       boundary_version.c.valid_from, boundary_version.c.valid_to, location.c.admin_level)
             .order_by(boundary_version.c.country_iso3, boundary_version.c.id, location.c.admin_level))
    if country:
        query = query.where(boundary_version.c.country_iso3 == country.upper())
    with ensure_schema(db).connect() as conn:
        rows = conn.execute(query).all()
    versions: dict[int, dict] = {}
    for vid, iso3, name, vf, vt, level, n in rows:
        v = versions.setdefault(vid, {"id": vid, "country": iso3, "version": name,
                                      "valid_from": vf.isoformat() if vf else None,
                                      "valid_to": vt.isoformat() if vt else None, "units": {}})
        v["units"][str(level)] = n
    if json:
        print_json(list(versions.values()))
        return
    for v in versions.values():
        levels = ", ".join(f"admin{k}: {n}" for k, n in v["units"].items())
        console.print(f"{v['country']} [bold]{v['version']}[/bold] (#{v['id']}; {levels}; "
                      f"valid {v['valid_from'] or '…'} to {v['valid_to'] or '…'})")


def reviews_command(
    country: Annotated[str | None, typer.Option("--country", help="Only this country (ISO3).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List the open review items: places the matcher would not decide alone."""
    from mobtrack.gazetteer.aliases import open_reviews
    from mobtrack.store.db import ensure_schema

    with ensure_schema(db).connect() as conn:
        items = open_reviews(conn, country)
    if json:
        print_json(items)
        return
    if not items:
        console.print("no open review items")
        return
    for i in items:
        cands = "; ".join(f"{c['pcode']} {c['name']} ({c['score']})" for c in (i["candidates"] or [])[:3])
        console.print(f"[bold]#{i['id']}[/bold] {i['country_iso3']} admin{i['admin_level']} "
                      f"{i['input_name'] or ''} {i['input_code'] or ''} in {i['parent_pcode'] or '?'}: "
                      f"{i['reason']}" + (f"\n    candidates: {cands}" if cands else ""))
    console.print("\ndecide with: mobtrack gazetteer decide ID PCODE   (or --none: no such place)")


def decide_command(
    review_id: Annotated[int, typer.Argument(help="Review item id (see `mobtrack gazetteer reviews`).")],
    pcode: Annotated[str | None, typer.Argument(help="The p-code the name stands for.")] = None,
    none: Annotated[bool, typer.Option("--none", help="Decide that the name is no known place.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (recorded).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Settle a review item; the decision is remembered and reused by later imports."""
    from mobtrack.gazetteer.aliases import ReviewError, decide
    from mobtrack.store.db import ensure_schema

    if (pcode is None) == (not none):
        fail("give a PCODE, or --none (not both)", 2)
    try:
        with ensure_schema(db).begin() as conn:
            result = decide(conn, review_id, pcode, by)
    except ReviewError as exc:
        fail(str(exc), 1)
    if json:
        print_json(result)
    else:
        console.print(f"review #{review_id} {result['status']} ({result['settled']} open item(s) settled)")


def match_command(
    names_csv: Annotated[Path, typer.Argument(help="CSV file with one place name per row.")],
    country: Annotated[str, typer.Option("--country", help="ISO3 code of the country.")],
    level: Annotated[int, typer.Option("--level", help="Admin level of the names (1-4).")],
    name_column: Annotated[str | None, typer.Option("--name-column", help="Column with the names "
                                                    "(default: 'name', else the first column).")] = None,
    parent_column: Annotated[str | None, typer.Option("--parent-column", help="Column with the parent unit "
                                                      "(name or p-code), to match within it.")] = None,
    date_: Annotated[str | None, typer.Option("--date", help="Match against the boundaries valid on this date "
                                              "(YYYY-MM-DD; default today).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Match place names to p-codes; doubtful ones are marked `review`, never guessed.

    Example: mobtrack match districts.csv --country SOM --level 2 --parent-column region --json
    """
    import datetime as dt

    import polars as pl

    from mobtrack.gazetteer.aliases import alias_map
    from mobtrack.gazetteer.lookup import NoGazetteer, gazetteer_for, match_names

    if not names_csv.is_file():
        fail(f"no such file: {names_csv}", 2)
    if not 1 <= level <= 4:
        fail("--level must be 1 to 4", 2)
    try:
        day = dt.date.fromisoformat(date_) if date_ else None
    except ValueError:
        fail(f"--date {date_!r} is not YYYY-MM-DD", 2)
    try:
        frame = pl.read_csv(names_csv, infer_schema=False, encoding="utf8-lossy")
    except (pl.exceptions.PolarsError, OSError) as exc:
        fail(f"{names_csv.name}: cannot read as CSV ({exc})", 1)
    column = name_column or next((c for c in frame.columns if c.strip().lower() == "name"), frame.columns[0])
    for wanted in (column, parent_column):
        if wanted is not None and wanted not in frame.columns:
            fail(f"{names_csv.name} has no column {wanted!r} (columns: {', '.join(frame.columns)})", 2)
    iso3 = country.upper()
    conn_cm = _existing_db(db)
    try:
        with conn_cm as conn:
            gaz = gazetteer_for(iso3, conn)
            aliases = alias_map(conn, iso3)[0] if conn is not None else None
            names = frame[column].to_list()
            parents = frame[parent_column].to_list() if parent_column else None
            results = []
            with Progress(console=console, transient=True, disable=len(names) < CHUNK) as progress:
                task = progress.add_task("matching", total=len(names))
                for start in range(0, len(names), CHUNK):
                    results += match_names(gaz, level, names[start:start + CHUNK],
                                           parents[start:start + CHUNK] if parents else None, day=day, aliases=aliases)
                    progress.advance(task, min(CHUNK, len(names) - start))
    except NoGazetteer as exc:
        fail(str(exc), 1)
    if json:
        print_json(results)
        return
    counts = {s: sum(r["status"] == s for r in results) for s in ("matched", "review", "unmatched")}
    for r in results:
        colour = {"matched": "green", "review": "yellow", "unmatched": "red"}[r["status"]]
        console.print(f"[{colour}]{r['status']:9}[/{colour}] {r['input']!s:30} {r['pcode'] or '':12} "
                      f"{r['name'] or ''} {r['method'] or ''} {r['score'] if r['score'] is not None else ''}"
                      + (f"  ({r['detail']})" if r["status"] != "matched" and r["detail"] else ""))
    console.print(f"{counts['matched']} matched, {counts['review']} to review, {counts['unmatched']} unmatched")


class _NoDb:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _existing_db(db: str | None):
    """A connection to the database if there is one to read; matching never creates a database."""
    from mobtrack.store.db import get_engine, is_initialised, resolve_url

    url = resolve_url(db)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not Path(path).is_file():
            return _NoDb()
    try:
        if not is_initialised(url):
            return _NoDb()
    except Exception as exc:  # noqa: BLE001 - an unreachable database is reported, not a traceback
        fail(f"cannot open database {url}: {exc}", 1)
    return get_engine(url).connect()


def register(app: typer.Typer) -> None:
    gazetteer_app.command("load")(load_command)
    gazetteer_app.command("versions")(versions_command)
    gazetteer_app.command("reviews")(reviews_command)
    gazetteer_app.command("decide")(decide_command)
    app.add_typer(gazetteer_app, name="gazetteer")
    app.command("match")(match_command)
