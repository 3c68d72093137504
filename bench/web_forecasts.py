"""How long a forecasts request takes: first (computed) and again (cached), at the web service's caps.

    .venv/bin/python bench/web_forecasts.py                       # 150 synthetic places x 24 monthly rounds
    .venv/bin/python bench/web_forecasts.py --places 300 --rounds 36

Builds a synthetic operation (made-up country, not real data), publishes every round and times the
anonymous /api/v1/operations/{op}/forecasts at admin level 2: monthly 3 periods ahead (the dashboard's
panel) and weekly 12 ahead (the most the API accepts). More places than the cap (MAX_SERIES) are not
forecast, so the time is bounded whatever the operation's size. Wall and CPU seconds are printed: on a
shared machine the CPU time is what the request costs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote


def build(folder: Path, places: int, rounds: int) -> tuple[str, str]:
    import polars as pl

    from mobtrack.gazetteer import load_paths
    from mobtrack.pipeline import import_file
    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.store.publishing import publish
    from mobtrack.synthetic import leaves_of, synthetic_gazetteer, synthetic_rounds, write_csv

    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    admin1 = max(1, places // 10)
    gazetteer = synthetic_gazetteer(["XBX"], admin1=admin1, admin2=10, admin3=1)
    gaz_path = folder / "gazetteer.csv"
    gazetteer.with_columns(pl.lit("2020-01-01").alias("Valid from date")).write_csv(gaz_path)
    with get_engine(url).begin() as conn:
        load_paths(conn, [gaz_path])
    leaves = leaves_of(gazetteer, "XBX", 2).head(places)
    operation = "Synthetic bench: forecasts (not real data)"
    records = synthetic_rounds(leaves, operation=operation, country_iso3="XBX", rounds=rounds, seed=9,
                               first_date=date(2022, 1, 15), days_between=30)
    path = folder / "rounds.csv"
    write_csv(records, path)
    result = import_file(path, db_url=url)
    if result.status != "imported":
        raise SystemExit(f"synthetic import failed: {result.message}")
    with get_engine(url).begin() as conn:
        for number in range(1, rounds + 1):
            publish(conn, operation, number)
    return url, operation


def timed(client, path: str) -> tuple[float, float, dict]:
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:300]}")
    return time.perf_counter() - wall, time.process_time() - cpu, response.json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--places", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=24)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from mobtrack.web.app import create_app
    from mobtrack.web.services.forecasts import MAX_SERIES

    with tempfile.TemporaryDirectory() as tmp:
        print(f"importing {args.places} places x {args.rounds} rounds...", file=sys.stderr)
        url, operation = build(Path(tmp), args.places, args.rounds)
        client = TestClient(create_app(url, secure_cookies=False, upload_dir=Path(tmp) / "uploads"))
        base = f"/api/v1/operations/{quote(operation)}/forecasts?level=2"
        for label, query in [("monthly, 3 ahead", "&freq=M&horizon=3"), ("weekly, 12 ahead", "&freq=W&horizon=12")]:
            first = timed(client, base + query)
            again = timed(client, base + query)
            body = first[2]
            print(f"{label:18} {body['count']:>4} places forecast ({len(body['skipped'])} not; cap {MAX_SERIES})  "
                  f"first {first[0]:6.2f} s wall {first[1]:6.2f} s CPU   cached {again[0] * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
