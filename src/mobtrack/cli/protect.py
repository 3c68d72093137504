"""`mobtrack protect ...` (suppression, risk, privacy budget, agreements, retention) and `mobtrack audit ...`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from mobtrack.cli._common import DbOption, JsonOption, console, fail, print_json

protect_app = typer.Typer(help="Protect the people behind the numbers: suppression, DP budget, agreements.",
                          no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log of sensitive reads and changes.", no_args_is_help=True)

Columns = Annotated[str, typer.Option(help="Comma-separated column names.")]


def _split(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _read(path: Path):
    import polars as pl

    if not path.exists():
        fail(f"no such file: {path}", 2)
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix in {".csv", ".gz"}:
        return pl.read_csv(path, infer_schema_length=10000)
    fail(f"{path.name}: give a .csv, .csv.gz or .parquet file", 2)


@protect_app.command("suppress")
def suppress_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet of leaf counts (one row per finest cell).")],
    levels: Annotated[str, typer.Option("--levels", help="Admin code columns, coarsest first: adm1,adm2,adm3.")],
    by: Annotated[str, typer.Option("--by", help="Disaggregation columns, e.g. sex,age_band.")] = "",
    round_col: Annotated[str | None, typer.Option("--round", help="Round column (number or date).")] = None,
    kind: Annotated[str, typer.Option("--kind", help="stock (people present) or flow (people passing).")] = "stock",
    round_total: Annotated[bool, typer.Option("--round-total", help="Flow tables: also publish the total over rounds.")] = False,
    value: Annotated[str, typer.Option("--value", help="Count column.")] = "value",
    threshold: Annotated[int, typer.Option("--threshold", min=1, help="Counts 1..threshold are suppressed.")] = 10,
    margins: Annotated[bool, typer.Option("--margins", help="Output every level and total, not just the input rows.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write the protected table here (.csv or .parquet).")] = None,
    json: JsonOption = False,
) -> None:
    """Suppress small cells, with secondary suppression across levels, disaggregations and rounds.

    Example: mobtrack protect suppress counts.csv --levels adm1,adm2,adm3 --by sex --round round --out public.csv
    """
    from mobtrack.protect import SpecError, TableSpec
    from mobtrack.protect.suppression import suppress

    frame = _read(file)
    try:
        spec = TableSpec(hierarchy=_split(levels), disaggregations=_split(by), round=round_col, round_kind=kind,
                         round_total=round_total, value=value, threshold=threshold)
        with console.status("suppressing small cells…"):
            result = suppress(frame, spec)
    except SpecError as exc:
        fail(str(exc), 2)
    table = result.table(margins=margins)
    if out:
        (table.write_parquet if out.suffix == ".parquet" else table.write_csv)(out)
    summary = {"file": str(file), "threshold": threshold, **result.counts, "out": str(out) if out else None}
    if json:
        print_json(summary if out else {**summary, "table": table.to_dicts()})
        return
    console.print(f"{result.counts['suppressed']:,} of {result.counts['cells']:,} figures suppressed "
                  f"({result.counts['primary']:,} small, {result.counts['secondary']:,} to protect them, "
                  f"{result.counts['round_change']:,} for small changes between rounds)")
    if not out:
        sys.stdout.write(table.write_csv())


@protect_app.command("dp")
def dp_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet of one round's leaf counts.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset key whose privacy budget is spent.")],
    levels: Annotated[str, typer.Option("--levels", help="Admin code columns, coarsest first.")],
    places: Annotated[Path, typer.Option("--places", help="CSV of every leaf place (the --levels columns), from the gazetteer.")],
    epsilon: Annotated[float, typer.Option("--epsilon", help="Privacy loss of this release.")],
    by_cats: Annotated[list[str] | None, typer.Option("--by", help="Disaggregation and its declared categories: sex=f,m (repeatable).")] = None,
    round_col: Annotated[str | None, typer.Option("--round", help="Round column (one round per release).")] = None,
    value: Annotated[str, typer.Option("--value", help="Count column.")] = "value",
    contributions: Annotated[int, typer.Option("--contributions", min=1, help="Cells one person can count in.")] = 1,
    who: Annotated[str, typer.Option("--who", help="Who releases (recorded).")] = "cli",
    out: Annotated[Path | None, typer.Option("--out", help="Write the released table here.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Release one round with differential privacy (stored; the same question is answered again for free).

    Example: mobtrack protect dp round7.csv --dataset op:12/idps --levels adm1,adm2 --places adm2.csv --by sex=f,m --round round --epsilon 1
    """
    from mobtrack.protect import SpecError, TableSpec, ledger
    from mobtrack.store.db import ensure_schema

    categories = {}
    for item in by_cats or []:
        name, _, cats = item.partition("=")
        if not cats:
            fail(f"--by {item!r}: declare the categories, e.g. --by sex=f,m", 2)
        categories[name.strip()] = _split(cats)
    try:
        spec = TableSpec(hierarchy=_split(levels), disaggregations=list(categories), round=round_col, value=value,
                         categories=categories)
        stored = ledger.release(ensure_schema(db), dataset=dataset, frame=_read(file), spec=spec,
                                places=_read(places), epsilon=epsilon, contributions=contributions, by=who)
    except SpecError as exc:
        fail(str(exc), 2)
    except ledger.BudgetExceeded as exc:
        fail(str(exc))
    if out:
        (stored.table.write_parquet if out.suffix == ".parquet" else stored.table.write_csv)(out)
    meta = {**stored.metadata(), "reused": stored.reused, "out": str(out) if out else None}
    if json:
        print_json(meta if out else {**meta, "table": stored.table.to_dicts()})
        return
    console.print(f"release {stored.id}: epsilon {stored.epsilon:g}, delta {stored.delta:g}, "
                  f"{stored.privacy_unit}" + (" (stored answer, nothing spent)" if stored.reused else ""))
    if not out:
        sys.stdout.write(stored.table.write_csv())


@protect_app.command("risk")
def risk_command(
    file: Annotated[Path, typer.Argument(help="Microdata: one row per person or household.")],
    qi: Annotated[str, typer.Option("--qi", help="Quasi-identifier columns, e.g. adm2,sex,age_band,hh_size.")],
    sensitive: Annotated[str | None, typer.Option("--sensitive", help="Sensitive column for l-diversity.")] = None,
    weight: Annotated[str | None, typer.Option("--weight", help="Sampling weight column.")] = None,
    json: JsonOption = False,
) -> None:
    """k-anonymity, l-diversity and sdcMicro-style global risk; exit 1 if the export thresholds fail.

    Example: mobtrack protect risk households.csv --qi adm2,sex,age_band --sensitive need --weight w
    """
    from mobtrack.protect.microdata import assess

    try:
        report = assess(_read(file), _split(qi), sensitive, weight)
    except ValueError as exc:
        fail(str(exc), 2)
    data = {"records": report.records, "k": report.k, "l": report.l_div, "global_risk": report.global_risk,
            "records_at_risk": report.records_at_risk, "passes": report.passes, "problems": report.problems()}
    if json:
        print_json(data)
    else:
        console.print(f"k = {report.k}, l = {report.l_div}, global risk = {report.global_risk:.2%} -> "
                      + ("[green]may be exported[/green]" if report.passes else "[red]" + "; ".join(report.problems()) + "[/red]"))
    if not report.passes:
        raise typer.Exit(1)


@protect_app.command("budget")
def budget_command(
    dataset: Annotated[str, typer.Argument(help="Dataset key, e.g. op:12/idps.")],
    epsilon: Annotated[float | None, typer.Option("--epsilon", help="Set the total privacy budget.")] = None,
    by: Annotated[str, typer.Option("--by", help="Who sets it (recorded).")] = "cli",
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show (or set) a dataset's privacy budget and what its DP releases have spent.

    Example: mobtrack protect budget op:12/idps --epsilon 4
    """
    from mobtrack.protect import ledger
    from mobtrack.store.db import ensure_schema

    engine = ensure_schema(db)
    if epsilon is not None:
        try:
            ledger.set_budget(engine, dataset, epsilon, by)
        except (ValueError, ledger.BudgetExceeded) as exc:
            fail(str(exc))
    status = {**ledger.budget_status(engine, dataset), "history": ledger.releases(engine, dataset)}
    if json:
        print_json(status)
    else:
        console.print(f"{dataset}: budget {status['budget']}, spent {status['spent']:g} over "
                      f"{status['releases']} release(s), remaining {status['remaining']}")


@protect_app.command("agreement")
def agreement_command(
    org: Annotated[str, typer.Option("--org", help="Partner organisation.")],
    purpose: Annotated[str, typer.Option("--purpose", help="What the data may be used for.")],
    datasets: Annotated[str, typer.Option("--datasets", help="Comma-separated dataset keys (prefix* allowed).")],
    expires: Annotated[str, typer.Option("--expires", help="Expiry date, YYYY-MM-DD.")],
    sensitivity: Annotated[str, typer.Option("--sensitivity", help="restricted or sensitive.")] = "restricted",
    by: Annotated[str, typer.Option("--by", help="Who records it.")] = "cli",
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Record a data-sharing agreement.

    Example: mobtrack protect agreement --org "Partner NGO" --purpose "shelter planning" --datasets "op:12/*" --expires 2027-06-30
    """
    from mobtrack.protect import agreements
    from mobtrack.store.db import ensure_schema

    try:
        expires_on = date.fromisoformat(expires)
    except ValueError:
        fail(f"--expires must be YYYY-MM-DD, got {expires!r}", 2)
    try:
        new_id = agreements.create_agreement(ensure_schema(db), partner_org=org, purpose=purpose,
                                             datasets=_split(datasets), expires_on=expires_on,
                                             max_sensitivity=sensitivity, created_by=by)
    except ValueError as exc:
        fail(str(exc), 2)
    print_json({"agreement": new_id}) if json else console.print(f"agreement {new_id} recorded for {org}")


@protect_app.command("classify")
def classify_command(
    target: Annotated[str, typer.Argument(help='Dataset, round or field key: "op:12", "op:12/round:3", "op:12/field:phone".')],
    sensitivity: Annotated[str, typer.Option("--as", help="public, restricted or sensitive.")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded).")] = "cli",
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Set the sensitivity class of a dataset, round or field (audited).

    Example: mobtrack protect classify op:12/field:hh_gps --as sensitive
    """
    from mobtrack.protect.classes import classify
    from mobtrack.store.db import ensure_schema

    try:
        level = classify(ensure_schema(db), target, sensitivity, by)
    except ValueError as exc:
        fail(str(exc), 2)
    print_json({"target": target, "sensitivity": level.value}) if json else console.print(f"{target}: {level.value}")


@protect_app.command("purge")
def purge_command(db: DbOption = None, json: JsonOption = False) -> None:
    """Delete everything past its retention date (each purge is audited). Run it daily (cron).

    Example: mobtrack protect purge
    """
    from mobtrack.protect import agreements
    from mobtrack.store.db import ensure_schema

    done = agreements.purge_expired(ensure_schema(db))
    print_json(done) if json else console.print(f"{len(done)} retention rule(s) applied")


@audit_app.command("verify")
def verify_command(db: DbOption = None, json: JsonOption = False) -> None:
    """Recompute the audit log's hash chain; exit 1 at the first entry that was altered or removed.

    Example: mobtrack audit verify
    """
    from mobtrack.protect import auditlog
    from mobtrack.store.db import ensure_schema

    result = auditlog.verify(ensure_schema(db))
    if json:
        print_json(result.__dict__)
    elif result.ok:
        console.print(f"[green]audit log intact[/green]: {result.entries} entries")
    else:
        console.print(f"[red]audit log broken[/red] at entry {result.first_bad_id}: {result.problem}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def export_command(
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    db: DbOption = None,
) -> None:
    """Export the audit log as JSON lines.

    Example: mobtrack audit export --out audit.jsonl
    """
    from mobtrack.protect import auditlog
    from mobtrack.store.db import ensure_schema

    engine = ensure_schema(db)
    if out:
        with out.open("w", encoding="utf-8") as fh:
            n = auditlog.export_jsonl(engine, fh)
        console.print(f"{n} entries written to {out}")
    else:
        auditlog.export_jsonl(engine, sys.stdout)


def register(app: typer.Typer) -> None:
    app.add_typer(protect_app, name="protect")
    app.add_typer(audit_app, name="audit")
