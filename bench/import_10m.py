"""Benchmark: import a generated 10-million-observation dataset, against polars.read_csv of the same file.

Targets (issue 2): import within 10x the raw parse, on SQLite and PostgreSQL; `figures` at admin1 and
admin2 for one round with p95 under 50 ms on both; import peak memory bounded (it must not grow with
the file beyond a batch: compared here between a file and one 5x smaller).

    .venv/bin/python bench/import_10m.py                     # SQLite, 10M observations
    .venv/bin/python bench/import_10m.py --db postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python bench/import_10m.py --countries 1 --rounds 10   # a quick look (200k observations)
    .venv/bin/python bench/import_10m.py --keep /tmp/bench10m        # keep the generated files; a rerun reuses them

Shape: COUNTRIES x 4,000 admin3 places x ROUNDS x 10 values (IDPs and returnees in individuals and
households, IDP individuals by sex and by 4 age bands), admin1/2 rolled up from admin3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from databases import drop_database, fresh_database

ROOT = Path(__file__).resolve().parent.parent
COUNTRIES = ["XAA", "XBB", "XCC", "XDD", "XEE"]
CSV_COLUMNS = ["operation", "country_iso3", "assessment_type", "round_number", "reporting_date", "admin_level",
               "adm1_pcode", "adm2_pcode", "adm3_pcode", "population_group", "unit", "role", "sex", "age_band", "value"]


def generate(folder: Path, countries: int, rounds: int) -> tuple[Path, Path, int]:
    from mobtrack.synthetic import leaves_of, synthetic_gazetteer, synthetic_rounds

    isos = COUNTRIES[:countries]
    gaz_path = folder / f"gazetteer_{countries}.csv"
    data_path = folder / f"observations_{countries}x{rounds}.csv"
    # a kept folder (--keep) is reused: the files are the same for the same shape (seeded), and
    # writing 1 GB of CSV takes a while; the row count is kept beside the file
    count_path = data_path.with_suffix(".rows")
    if gaz_path.exists() and data_path.exists() and count_path.exists():
        return gaz_path, data_path, int(count_path.read_text())
    gazetteer = synthetic_gazetteer(isos)
    gazetteer.with_columns(pl.lit("2020-01-01").alias("Valid from date")).write_csv(gaz_path)
    total = 0
    with open(data_path, "wb") as fh:
        for i, iso in enumerate(isos):
            frame = synthetic_rounds(leaves_of(gazetteer, iso, 3), operation=f"Synthetic operation {iso}",
                                     country_iso3=iso, rounds=rounds, seed=i).select(CSV_COLUMNS)
            frame.write_csv(fh, include_header=(i == 0))
            total += frame.height
    count_path.write_text(str(total))
    return gaz_path, data_path, total


def run(cmd: list[str], env: dict | None = None) -> tuple[float, dict]:
    """Run a mobtrack command in a child process; return its wall time and peak RSS (MB)."""
    wrapper = (
        "import runpy, sys, time, json\n"
        "sys.argv = sys.argv[1:]\n"
        "t = time.perf_counter()\n"
        "try:\n    runpy.run_module('mobtrack', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "else:\n    code = 0\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec from the parent, which holds the
        # baseline's parsed CSV; VmHWM belongs to this process's own memory map.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "sys.stderr.write('\\nBENCH ' + json.dumps({'seconds': time.perf_counter() - t, 'code': code,"
        " 'peak_mb': int(hwm) / 1024}) + '\\n')\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, "mobtrack", *cmd], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    line = [x for x in out.stderr.splitlines() if x.startswith("BENCH ")]
    if not line:
        raise RuntimeError(out.stderr[-3000:])
    stats = json.loads(line[-1][6:])
    if stats["code"] not in (0, None):
        raise RuntimeError(f"{cmd} exited {stats['code']}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return stats["seconds"], stats


def parse_baseline(path: Path) -> float:
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        pl.read_csv(path)
        best = min(best, time.perf_counter() - t)
    return best


def figures_latency(db: str, country: str, operation: str, round_number: int, level: int, n: int = 100):
    from mobtrack.analytics import RoundFilter, figures
    from mobtrack.store.db import get_engine

    engine = get_engine(db)
    times = []
    with engine.connect() as conn:
        for _ in range(n):
            t = time.perf_counter()
            frame = figures(conn, RoundFilter(country_iso3=country, operation=operation, round_number=round_number),
                            level)
            times.append(time.perf_counter() - t)
    return sorted(times)[int(0.95 * len(times)) - 1], frame.height


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="PostgreSQL URL (default: a new SQLite file)")
    ap.add_argument("--countries", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--keep", help="folder to keep generated files in")
    args = ap.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="mobtrack-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    gaz, data, total = generate(folder, args.countries, args.rounds)
    small_rounds = max(args.rounds // 5, 1)
    _, small, small_total = generate(folder, args.countries, small_rounds)
    print(f"generated {total:,} observations ({data.stat().st_size / 1e6:.0f} MB CSV) and {small_total:,} "
          f"for the memory comparison")

    raw = parse_baseline(data)
    db = fresh_database(args.db, folder)
    run(["init", "--db", db])
    run(["gazetteer", "load", str(gaz), "--db", db])
    seconds, stats = run(["import", str(data), "--db", db, "--json"])
    again, _ = run(["import", str(data), "--db", db, "--json"])
    db_small = fresh_database(args.db, folder)
    run(["init", "--db", db_small])
    run(["gazetteer", "load", str(gaz), "--db", db_small])
    _, small_stats = run(["import", str(small), "--db", db_small, "--json"])

    p95_1, n1 = figures_latency(db, COUNTRIES[0], f"Synthetic operation {COUNTRIES[0]}", args.rounds // 2, 1)
    p95_2, n2 = figures_latency(db, COUNTRIES[0], f"Synthetic operation {COUNTRIES[0]}", args.rounds // 2, 2)
    kind = "postgresql" if args.db else "sqlite"
    print(f"\n== import of {total:,} observations into {kind}")
    print(f"polars.read_csv (baseline)  {raw:8.2f} s")
    print(f"mobtrack import             {seconds:8.2f} s   ratio {seconds / raw:5.1f}x  (target <= 10x)")
    print(f"re-import, unchanged        {again:8.2f} s   ratio {again / raw:5.1f}x")
    print(f"peak memory                 {stats['peak_mb']:8.0f} MB for {total:,} obs; {small_stats['peak_mb']:.0f} MB "
          f"for {small_total:,} (ratio {stats['peak_mb'] / small_stats['peak_mb']:.2f} for "
          f"{total / small_total:.0f}x the data)")
    print(f"figures admin1 p95          {p95_1 * 1000:8.1f} ms  ({n1} places; target <= 50 ms, "
          f"ratio to target {p95_1 / 0.05:.2f})")
    print(f"figures admin2 p95          {p95_2 * 1000:8.1f} ms  ({n2} places; ratio to target {p95_2 / 0.05:.2f})")
    for url in (db, db_small):
        drop_database(url)
    if not args.keep:  # ~1.3 GB of generated CSV
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
