"""Loading the global statistics: throughput of `load_file` (parse, crosswalk, one transaction with facts,
corridors and issues) against `polars.read_csv` of the same file, measured in the same run; then the
time of an idempotent re-load (which must only hash the file), and the process's peak memory.

    .venv/bin/python bench/stats_load.py [--db URL] [FILE ...]

Default files: UN DESA 2024 and UNHCR population from ../shared/data/stats.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from mobtrack.stats.load import load_file
from mobtrack.store.db import get_engine, upgrade

STATS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "stats"
DEFAULT = [STATS / "undesa" / "undesa_stocks.csv.gz", STATS / "unhcr" / "population.csv.gz"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    engine = get_engine(url)
    print(f"database: {engine.dialect.name}")
    for path in args.files:
        start = time.perf_counter()
        frame = pl.read_csv(path, infer_schema_length=0, separator="\t" if path.suffix == ".tsv" else ",")
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        result = load_file(engine, path)
        took = time.perf_counter() - start
        start = time.perf_counter()
        again = load_file(engine, path)
        reload = time.perf_counter() - start
        print(f"{path.name}: {len(frame):,} rows -> {result.facts:,} facts ({result.status}); "
              f"load {took:.2f} s = {len(frame) / took:,.0f} rows/s; polars.read_csv {baseline:.3f} s; "
              f"ratio load/read_csv {took / baseline:.1f}x; re-load ({again.status}) {reload:.3f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (process max RSS): {peak_mb:,.0f} MB")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
