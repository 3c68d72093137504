"""OD-matrix and corridor queries over the full UN DESA migrant-stock table: p95 latency from the store,
against a baseline measured in the same run: a plain polars filter/group-by over the same data held in
memory (what an analyst would do with the raw file open in a notebook).

    .venv/bin/python bench/stats_od.py [--db URL] [--queries 300] [--file PATH]

Target (issue 6): p95 <= 50 ms. The store answers from stats_corridor's indexes; the baseline has to
filter ~150k rows and group them for every query.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from mobtrack.stats.load import load_file
from mobtrack.stats.od import ODQuery, corridor_series, od_matrix
from mobtrack.store.db import get_engine, upgrade

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "stats" / "undesa" / "undesa_stocks.csv.gz"


def make_queries(raw: pl.DataFrame, n: int, seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)  # noqa: S311 (benchmark sampling)
    years = sorted(raw["t"].unique().to_list())
    countries = sorted(set(raw["geo"].unique().to_list()) | set(raw["from"].unique().to_list()))
    pairs = raw.select("from", "geo").unique().sort("from", "geo").rows()
    out = []
    for _ in range(n):
        kind = rng.choices(["world_top", "country_top", "country_all", "corridor"], weights=[3, 4, 2, 1])[0]
        out.append((kind, rng.choice(years), rng.choice(countries), rng.choice(pairs)))
    return out


def store_query(engine, q):
    kind, year, country, (o, d) = q
    if kind == "world_top":
        return od_matrix(engine, "undesa", ODQuery(year=year, top=20))
    if kind == "country_top":
        return od_matrix(engine, "undesa", ODQuery(year=year, country=country, top=20))
    if kind == "country_all":
        return od_matrix(engine, "undesa", ODQuery(year=year, country=country))
    return corridor_series(engine, "undesa_stock", o, d)


def polars_query(raw: pl.DataFrame, q):
    kind, year, country, (o, d) = q
    if kind == "corridor":
        return (raw.filter((pl.col("from") == o) & (pl.col("geo") == d)).group_by("t").agg(pl.col("n").sum())
                .sort("t"))
    frame = raw.filter(pl.col("t") == year)
    if kind != "world_top":
        frame = frame.filter((pl.col("geo") == country) | (pl.col("from") == country))
    out = frame.group_by("from", "geo").agg(pl.col("n").sum()).sort("n", descending=True)
    return out.head(20) if kind != "country_all" else out


def timed(fn, queries) -> list[float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[18]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    engine = get_engine(url)
    start = time.perf_counter()
    result = load_file(engine, args.file)
    print(f"load {args.file.name}: {result.status}, {result.facts:,} facts in {time.perf_counter() - start:.1f} s")

    raw = pl.read_csv(args.file, schema_overrides={"n": pl.Float64})
    queries = make_queries(raw, args.queries)
    # warm both paths (SQLite page cache, polars thread pool) before measuring
    timed(lambda q: store_query(engine, q), queries[:20])
    timed(lambda q: polars_query(raw, q), queries[:20])
    store = timed(lambda q: store_query(engine, q), queries)
    base = timed(lambda q: polars_query(raw, q), queries)

    print(f"{len(queries)} queries (world top-20, country top-20, full country matrix, corridor series) on "
          f"{engine.dialect.name}")
    print(f"store : p50 {statistics.median(store):6.2f} ms  p95 {p95(store):6.2f} ms  max {max(store):6.2f} ms")
    print(f"polars: p50 {statistics.median(base):6.2f} ms  p95 {p95(base):6.2f} ms  max {max(base):6.2f} ms "
          "(in-memory filter + group-by, same data)")
    print(f"p95 ratio store/polars: {p95(store) / p95(base):.2f}x   target p95 <= 50 ms: "
          f"{'PASS' if p95(store) <= 50 else 'FAIL'}")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
