"""Time every validation rule on a generated round, as a ratio to a plain Polars scan of the same frame.

    .venv/bin/python bench/validate_rules.py                 # 1,000,000 rows
    .venv/bin/python bench/validate_rules.py --rows 200000 --repeat 3

The round looks like a DTM baseline assessment after place matching: 5,000 admin2 places, IDPs and
returnees in individuals and households, each IDP figure split into parts by reason x origin and
broken down by sex x age band, plus a little dirt (placeholders, text, an exact and a conflicting
duplicate, a spelling variant) so every rule has work to do. The baseline is one plain Polars pass
reading every value of every column (the minimum of each column). Figures are medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from mobtrack.model import conform
from mobtrack.validate import RoundRule, RowRule, RuleContext, all_rules, check_round, check_rows
from mobtrack.validate.rules._common import headline_figures

REASONS = ["conflict", "drought", "flood", "other"]
SEXES = ["f", "m"]
AGES = ["0-4", "5-17", "18-59", "60+"]


def generate(rows: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    # one IDP "block" per place and unit: 1 total + 4 parts + 4 x 8 breakdowns = 37 rows,
    # plus 1 returnee total: 38 rows per place and unit
    per_place = 2 * 38
    places = max(rows // per_place, 1)
    place = np.repeat(np.arange(places), per_place)
    n = place.size
    within = np.tile(np.arange(per_place), places)
    unit = np.where(within < 38, "individuals", "households")
    k = within % 38
    role = np.where(k == 0, "total", np.where(k <= 4, "part", np.where(k < 37, "breakdown", "total")))
    group = np.where(k == 37, "returnees_internal", "idps")
    reason_idx = np.where(k <= 4, k - 1, (k - 5) // 8)
    reason = np.where((k >= 1) & (k < 37), np.array(REASONS)[np.clip(reason_idx, 0, 3)], None)
    cell = np.where(k >= 5, (k - 5) % 8, 0)
    sex = np.where((k >= 5) & (k < 37), np.array(SEXES)[cell // 4], None)
    age = np.where((k >= 5) & (k < 37), np.array(AGES)[cell % 4], None)
    # consistent values: breakdown cells, parts = sum of their cells, total = sum of parts
    cells = rng.integers(0, 400, size=(places, 2, 4, 8))
    parts = cells.sum(axis=3)
    totals = parts.sum(axis=2)
    u = (within >= 38).astype(int)
    r = np.clip(reason_idx, 0, 3)
    value = np.select(
        [k == 0, k <= 4, k < 37],
        [totals[place, u], parts[place, u, r], cells[place, u, r, cell]],
        default=rng.integers(0, 3000, size=n),
    ).astype(np.int64)
    frame = pl.DataFrame({
        "operation": "Benchmark operation (synthetic)", "country_iso3": "SOM", "assessment_type": "BA",
        "round_number": 7, "reporting_date": dt.date(2024, 5, 31), "period_start": dt.date(2024, 5, 1),
        "period_end": dt.date(2024, 5, 31), "admin_level": 2,
        "adm1_pcode": pl.Series([f"SO{11 + p % 18}" for p in range(places)])[place],
        "adm2_pcode": pl.Series([f"SO{11 + p % 18}{p:05d}" for p in range(places)])[place],
        "adm2_name": pl.Series([f"District {p}" for p in range(places)])[place],
        "population_group": group, "unit": unit, "role": role, "sex": pl.Series(sex.tolist(), dtype=pl.String), "age_band": pl.Series(age.tolist(), dtype=pl.String),
        "reason": pl.Series(reason.tolist(), dtype=pl.String),
        "value": value, "source_sheet": "data", "source_row": np.arange(2, n + 2),
        "source_column": np.where(role == "total", "#affected+ind", "#affected+ind+f"),
    }).head(rows)
    frame = conform(frame)
    # dirt: 0.1% placeholders, 0.01% text, one exact and one conflicting duplicate, a spelling variant
    idx = rng.choice(frame.height, size=max(frame.height // 1000, 1), replace=False)
    bad = pl.Series(np.isin(np.arange(frame.height), idx))
    frame = frame.with_columns(
        pl.when(bad).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(bad).then(pl.lit("Not available")).otherwise(pl.col("raw_value")).alias("raw_value"),
        pl.when(pl.int_range(pl.len()) % 10_007 == 5).then(pl.lit("Conflict")).otherwise(pl.col("reason"))
        .alias("reason"),
    )
    frame = pl.concat([frame, frame.slice(0, 1), frame.slice(1, 1).with_columns(pl.col("value") + 1)])
    frame = frame.with_columns(
        # what place matching adds: the store's location id and the p-code
        pl.col("adm2_pcode").str.slice(4).cast(pl.Int64).alias("location_id"),
        pl.col("adm2_pcode").alias("location_pcode"), pl.lit("exact-code").alias("match_method"),
        pl.lit(100.0).alias("match_score"), pl.lit("matched").alias("match_status"),
        pl.lit(None, pl.String).alias("match_detail"),
    )
    # Through Arrow and back: Polars keeps broadcast literals as cheap "scalar" columns, which
    # would flatter every rule; a frame read from a file has every value materialised.
    return pl.from_arrow(frame.to_arrow()).rechunk()


def context_inputs(frame: pl.DataFrame) -> dict:
    """The previous round's figures (every 97th place x10, so the outlier rule has work) and the
    stored totals of another assessment type (different, so nothing is flagged: all work, no hit)."""
    totals = frame.filter(pl.col("role") == "total").group_by("location_id", "population_group", "unit").agg(
        pl.col("value").first())
    previous = totals.with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0).then(pl.col("value") * 10).otherwise(pl.col("value")))
    stored = (totals.group_by("population_group", "unit").agg(pl.col("value").sum())
              .with_columns(assessment_type=pl.lit("SA"), round_number=pl.lit(7)))
    return {"previous_figures": previous, "stored_round_totals": lambda op: stored}


def timed(fn, repeat: int, setup=None) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of fn(setup()). CPU time is printed too because on a shared
    machine the wall clock mostly measures the neighbours; both ratios use the same kind of time."""
    walls, cpus = [], []
    for _ in range(repeat):
        arg = setup() if setup else None
        wall, cpu = time.perf_counter(), time.process_time()
        fn(arg)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    frame = generate(args.rows)
    inputs = context_inputs(frame)

    def context() -> RuleContext:  # a fresh one per run, as the pipeline makes one per file
        return RuleContext("bench.csv", **inputs)

    millions = frame.height / 1e6
    base, base_cpu = timed(lambda _: frame.select(pl.all().min()), max(args.repeat, 3))
    print(f"{frame.height:,} rows; baseline (min of every column, one pass): "
          f"{base / millions * 1000:.1f} ms wall, {base_cpu / millions * 1000:.1f} ms CPU per million rows")
    print(f"{'':39} {'ms/M rows':>10} {'x scan':>8} {'x scan CPU':>11} {'issues':>7}")

    def line(label: str, wall: float, cpu: float, issues: str = "") -> None:
        print(f"{label:39} {wall / millions * 1000:10.1f} {wall / base:8.1f} {cpu / base_cpu:11.1f} {issues:>7}")

    # Round rules share per-round work (keyed frame, repeated rows, headline figures) through the
    # context: timed once here, then each rule on a context where it is already done.
    def prepare(ctx: RuleContext) -> RuleContext:
        headline_figures(frame, ctx)  # builds the keyed frame and the repeated rows on the way
        return ctx

    line("round rules' shared preparation", *timed(lambda _: prepare(context()), args.repeat))
    for slug, r in all_rules().items():
        def run(ctx, r=r):
            return list(r.check(frame, ctx) if isinstance(r, RowRule) else r.check_round(frame, ctx))
        issues = run(prepare(context()))
        wall, cpu = timed(run, args.repeat, setup=lambda: prepare(context()))
        kind = "round" if isinstance(r, RoundRule) else "row"
        line(f"{slug:32} {kind:6}", wall, cpu, f"{len(issues):,}")

    def pipeline(ctx: RuleContext) -> None:
        check_rows(frame, ctx)
        check_round(frame, ctx)

    both, both_cpu = timed(pipeline, args.repeat, setup=context)
    line("check_rows + check_round (pipeline)", both, both_cpu)
    # the import benchmark's yardstick: parsing the same rows from CSV
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "round.csv"
        frame.write_csv(path)
        parse, parse_cpu = timed(lambda _: pl.read_csv(path, infer_schema_length=10_000), max(args.repeat, 2))
    print(f"pl.read_csv of the same rows: {parse / millions * 1000:.1f} ms wall per million rows; all rules "
          f"(pipeline) = {both / parse:.1f}x the parse wall time, {both_cpu / parse_cpu:.1f}x its CPU time")


if __name__ == "__main__":
    main()
