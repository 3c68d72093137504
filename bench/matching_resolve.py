"""Benchmark: resolve_places once per round, with the round's places already known.

Target (issue 2 / gazetteer brief): with ~4,000 distinct places already known, resolving one round
must take well under 50 ms. The baseline, measured in the same run, is the least any resolver has
to do: a Polars join of the round's rows onto a ready (p-code -> location id) table.

    .venv/bin/python bench/matching_resolve.py                    # SQLite, 20 rounds of 40,000 rows
    .venv/bin/python bench/matching_resolve.py --db postgresql://postgres@127.0.0.1/postgres --rounds 10

It also times `load_bundled` (what `mobtrack init` runs: 32k locations) against polars.read_csv of
the same list.

Shape per round: Nigeria's 774 LGAs (bundled OCHA list, by code and name under their state) and
3,226 synthetic sites under them (source-defined, level 5), 10 rows per place.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import polars as pl


def round_records(rows_per_place: int) -> pl.DataFrame:
    from mobtrack.gazetteer.load import bundled_units
    from mobtrack.model.records import conform

    lgas = bundled_units().filter((pl.col("country_iso3") == "NGA") & (pl.col("admin_level") == 2))
    admin2 = lgas.select(pl.col("parent_pcode").alias("adm1_pcode"), pl.col("pcode").alias("adm2_pcode"),
                         pl.col("name").alias("adm2_name"), pl.lit(2).alias("admin_level"))
    n_sites = 4000 - admin2.height
    sites = admin2.select("adm1_pcode", "adm2_pcode")[[i % admin2.height for i in range(n_sites)]].with_columns(
        pl.Series("site_code", [f"NGA-S{i:05d}" for i in range(n_sites)]),
        pl.Series("site_name", [f"Synthetic site {i}" for i in range(n_sites)]),
        pl.lit(5).alias("admin_level"))
    places = pl.concat([admin2, sites], how="diagonal_relaxed")
    rows = pl.concat([places] * rows_per_place)
    return conform(rows.with_columns(pl.lit("NGA").alias("country_iso3"), pl.int_range(pl.len()).alias("source_row"),
                                     pl.lit(1).alias("value")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--rows-per-place", type=int, default=10)
    args = parser.parse_args()

    from mobtrack import gazetteer
    from mobtrack.store.db import get_engine, upgrade

    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        if args.db and args.db.startswith("postgres"):
            url = _fresh_postgres(args.db)
        upgrade(url)
        engine = get_engine(url)
        t = time.perf_counter()
        with engine.begin() as conn:
            loaded = gazetteer.load_bundled(conn)
        load_seconds = time.perf_counter() - t
        t = time.perf_counter()
        from importlib import resources

        parsed = pl.read_csv(resources.files("mobtrack.data").joinpath("global_pcodes_adm_1_2.csv.gz").read_bytes())
        parse_seconds = time.perf_counter() - t
        print(f"load_bundled: {loaded:,} locations in {load_seconds * 1000:.0f} ms; polars.read_csv of the same "
              f"list ({parsed.height:,} rows) {parse_seconds * 1000:.0f} ms; ratio {load_seconds / parse_seconds:.0f}x")
        records = round_records(args.rows_per_place)
        distinct = records.select("adm2_pcode", "site_code").unique().height
        print(f"{records.height:,} rows per round, {distinct:,} distinct places, {args.rounds} rounds, {url.split(':')[0]}")

        times, first = [], None
        with engine.begin() as conn:
            for i in range(args.rounds):
                t = time.perf_counter()
                out = gazetteer.resolve_places(conn, records, country_iso3="NGA", reporting_date=dt.date(2024, 1, 1),
                                               source_file_id=None, file_name="bench")
                elapsed = time.perf_counter() - t
                if i == 0:
                    first = elapsed
                else:
                    times.append(elapsed)
        assert out.records["location_id"].null_count() == 0, "every place must resolve"

        table = out.records.select("adm2_pcode", "site_code", "location_id").unique()
        base = []
        for _ in range(args.rounds - 1):
            t = time.perf_counter()
            joined = records.join(table, on=["adm2_pcode", "site_code"], how="left", nulls_equal=True)
            base.append(time.perf_counter() - t)
        assert joined.height == records.height

    def p95(xs):
        return sorted(xs)[max(0, int(round(0.95 * len(xs))) - 1)]

    warm50, warm95, base50 = statistics.median(times), p95(times), statistics.median(base)
    print(f"first round (decides {distinct:,} places, creates the sites): {first * 1000:8.1f} ms")
    print(f"known places, per round:   median {warm50 * 1000:6.1f} ms   p95 {warm95 * 1000:6.1f} ms   (target < 50 ms)")
    print(f"baseline join, per round:  median {base50 * 1000:6.1f} ms")
    print(f"ratio resolve / baseline join: {warm50 / base50:.1f}x;  first round / known: {first / warm50:.0f}x")
    engine.dispose()
    if url.startswith("postgresql"):
        _drop_postgres(url)


def _fresh_postgres(base: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"mt_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    with create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
