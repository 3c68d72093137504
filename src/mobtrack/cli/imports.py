"""`mobtrack init`, `mobtrack import`, `mobtrack validate`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mobtrack.cli._common import DbOption, JsonOption, console, print_json
from mobtrack.ingest import ImportOptions

Paths = Annotated[list[Path], typer.Argument(help="Files to import.", show_default=False)]
Format = Annotated[str | None, typer.Option("--format", "-f", help="Source format (default: detected).")]
Operation = Annotated[str | None, typer.Option("--operation", help="Operation name, when the file has none.")]
Country = Annotated[str | None, typer.Option("--country", help="ISO3 country code, when the file has none.")]
Assessment = Annotated[str | None, typer.Option("--assessment-type", help="BA, SA, ETT, FMC, FMS, REG or SRV.")]
RoundNumber = Annotated[int | None, typer.Option("--round", help="Round number, when the file has none.")]
ReportingDate = Annotated[datetime | None, typer.Option("--reporting-date", formats=["%Y-%m-%d"],
                                                        help="Reporting date (YYYY-MM-DD), when the file has none.")]
Mapping = Annotated[Path | None, typer.Option("--mapping", help="YAML column-mapping file (any CSV/XLSX).")]
Sheet = Annotated[str | None, typer.Option("--sheet", help="Workbook sheet to read (default: detected).")]
Rules = Annotated[Path | None, typer.Option("--rules", help="YAML file of validation settings (thresholds, "
                                            "disabled_rules); see docs/validation.md.")]


def _settings(path: Path | None) -> dict:
    if path is None:
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--rules") from exc
    if not isinstance(loaded, dict):
        raise typer.BadParameter(f"{path} must hold a mapping of setting: value", param_hint="--rules")
    return loaded


def _options(fmt, operation, country, assessment_type, round_number, mapping, sheet, reporting_date) -> ImportOptions:
    if mapping is not None and not mapping.is_file():
        raise typer.BadParameter(f"no such mapping file: {mapping}", param_hint="--mapping")
    return ImportOptions(format=fmt or ("mapping" if mapping else None), operation=operation,
                         country_iso3=country.upper() if country else None,
                         assessment_type=assessment_type.upper() if assessment_type else None,
                         round_number=round_number, mapping=mapping, sheet=sheet,
                         reporting_date=reporting_date.date() if reporting_date else None)


def _run(paths: list[Path], options: ImportOptions, db: str | None, dry_run: bool, settings: dict):
    from mobtrack.pipeline import import_file

    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("records"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        for path in paths:
            task = progress.add_task(f"{'checking' if dry_run else 'importing'} {path.name}", total=None)
            results.append(import_file(path, options, db_url=db, settings=settings, dry_run=dry_run,
                                       progress=lambda n, t=task: progress.advance(t, n)))
            progress.remove_task(task)
    return results


def import_command(
    paths: Paths, fmt: Format = None, operation: Operation = None, country: Country = None,
    assessment_type: Assessment = None, round_number: RoundNumber = None, reporting_date: ReportingDate = None,
    mapping: Mapping = None,
    sheet: Sheet = None, rules: Rules = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish the imported rounds when nothing blocks it.")] = False,
    db: DbOption = None, json: JsonOption = False,
) -> None:
    """Import files; each lands whole or not at all, and importing the same content again changes nothing.

    Example: mobtrack import displacement-admin2-admin0pcode-hti.json --publish
    """
    options = _options(fmt, operation, country, assessment_type, round_number, mapping, sheet, reporting_date)
    results = _run(paths, options, db, False,
                   _settings(rules))
    published = _publish(results, db) if publish else []
    status = ("rejected" if any(r.status == "rejected" for r in results)
              else "imported" if any(r.status == "imported" for r in results) else "unchanged")
    if json:
        totals = {"error": 0, "warning": 0, "info": 0}
        for r in results:
            for k, v in r.issue_counts().items():
                totals[k] += v
        print_json({"status": status, "rounds": [dict(file=r.file, **x.__dict__) for r in results for x in r.rounds],
                    "observations": sum(r.observations for r in results), "issues": totals,
                    "published": published, "files": [r.as_dict() for r in results]})
    else:
        for r in results:
            _describe(r)
        for p in published:
            console.print(f"  publish round {p['round']} of {p['operation']}: {p['status']}"
                          + (f" ({p['message']})" if p.get("message") else ""))
    raise typer.Exit(1 if status == "rejected" else 0)


def _publish(results, db) -> list[dict]:
    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import PublishError, publish

    out = []
    for result in results:
        for r in result.rounds:
            with get_engine(db).begin() as conn:
                try:
                    out.append(publish(conn, r.operation, r.round_number, r.assessment_type))
                except PublishError as exc:
                    out.append({"operation": r.operation, "round": r.round_number, "status": "blocked",
                                "message": str(exc), "blocking": exc.blocking[:20]})
    return out


def _describe(result) -> None:
    colour = {"imported": "green", "unchanged": "cyan", "rejected": "red"}[result.status]
    console.print(f"[{colour}]{result.status}[/{colour}] {result.file}"
                  + (f" ({result.format})" if result.format else ""))
    if result.message:
        console.print(f"  {result.message}")
    for note in result.notes:
        console.print(f"  [dim]{note}[/dim]")
    for r in result.rounds:
        console.print(f"  {r.operation} · {r.assessment_type} round {r.round_number} ({r.reporting_date}): "
                      f"{r.status}, {r.observations:,} observations")
    counts = result.issue_counts()
    if any(counts.values()):
        console.print(f"  issues: {counts['error']} errors, {counts['warning']} warnings "
                      "(see `mobtrack validate` for each one)")


def validate_command(
    paths: Paths, fmt: Format = None, operation: Operation = None, country: Country = None,
    assessment_type: Assessment = None, round_number: RoundNumber = None, reporting_date: ReportingDate = None,
    mapping: Mapping = None,
    sheet: Sheet = None, rules: Rules = None, db: DbOption = None, json: JsonOption = False,
) -> None:
    """Check files without storing anything: every issue with file, sheet, row, column and reason.

    Example: mobtrack validate --json round_39.xlsx
    """
    options = _options(fmt, operation, country, assessment_type, round_number, mapping, sheet, reporting_date)
    results = _run(paths, options, db, True,
                   _settings(rules))
    issues = [i.as_dict() for r in results for i in r.issues]
    for r in results:
        if r.status == "rejected" and not r.issues:
            issues.append({"severity": "error", "rule": "file-rejected", "file": r.file, "sheet": None, "row": None,
                           "column": None, "value": None, "message": r.message})
    if json:
        print_json(issues)
    else:
        for i in issues:
            where = ":".join(str(x) for x in (i["file"], i["sheet"], i["row"], i["column"]) if x is not None)
            console.print(f"{i['severity']:7} {i['rule']:28} {where}  {i['message']}")
        console.print(f"{len(issues)} issues")
    raise typer.Exit(1 if any(i["severity"] == "error" for i in issues) else 0)


def init_command(db: DbOption = None, json: JsonOption = False) -> None:
    """Create (or migrate) the database and load the bundled OCHA p-code list."""
    from mobtrack import gazetteer
    from mobtrack.store.db import get_engine, resolve_url, upgrade

    upgrade(db)
    with get_engine(db).begin() as conn:
        loaded = gazetteer.load_bundled(conn)
    if json:
        print_json({"database": resolve_url(db), "gazetteer": loaded})
    else:
        console.print(f"database ready: {resolve_url(db)}")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.command("import")(import_command)
    app.command("validate")(validate_command)
