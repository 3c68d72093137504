"""Benchmark: the API under 20 concurrent loopback clients, against the service layer's own time.

Targets (issue 3, item 8): on the 10-million-observation store, `figures` and `/v3/displacement/admin2`
for one operation and round: p95 <= 100 ms under 20 concurrent clients, and the API's own overhead
<= 2x the service/database time for the same query, both measured in this run.

    .venv/bin/python bench/web_api.py                                  # SQLite, 10M observations
    .venv/bin/python bench/web_api.py --db postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python bench/web_api.py --countries 1 --rounds 20        # a quicker look (~800k)
    .venv/bin/python bench/web_api.py --store sqlite:////tmp/big.db    # reuse a store built before

The server runs in its own process (uvicorn, one worker) on 127.0.0.1; the load is bounded in time
(--seconds per scenario) and in requests. Each scenario is served once before timing, so published
round versions are decoded and protected once, as on a running server.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from import_10m import COUNTRIES, fresh_db, generate, run  # noqa: E402

CLIENTS = 20
MAX_REQUESTS_PER_CLIENT = 5000


def build_store(args, folder: Path) -> tuple[str, int]:
    gaz, data, total = generate(folder, args.countries, args.rounds)
    db = fresh_db(args.db, folder)
    run(["init", "--db", db])
    run(["gazetteer", "load", str(gaz), "--db", db])
    run(["import", str(data), "--db", db, "--json"])
    return db, total


def prepare(db: str) -> dict:
    """Publish every round (the public sees published ones) and make an analyst token."""
    from sqlalchemy import select

    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import PublishError, publish
    from mobtrack.store.schema import operation, round_
    from mobtrack.web.services import accounts

    with get_engine(db).begin() as conn:
        for name, number, kind in conn.execute(select(operation.c.name, round_.c.number, round_.c.assessment_type)
                                               .join(round_, round_.c.operation_id == operation.c.id)).all():
            try:
                publish(conn, name, number, kind)
            except PublishError:
                pass
        made = accounts.add_user(conn, f"bench-{os.getpid()}-{int(time.time())}", "violet anchor drizzle compass 42",
                                 "analyst", "Bench", countries=["*"])
        return {"token": accounts.create_token(conn, made.id, "bench")}


def middle_published_round(db: str, operation: str) -> int:
    """A round the public can see (rounds dated in the future stay blocked by the date rule)."""
    from sqlalchemy import select

    from mobtrack.store.db import get_engine
    from mobtrack.store.schema import operation as operation_table
    from mobtrack.store.schema import round_

    with get_engine(db).connect() as conn:
        numbers = sorted(conn.execute(select(round_.c.number).join(
            operation_table, operation_table.c.id == round_.c.operation_id).where(
            operation_table.c.name == operation, round_.c.status == "published")).scalars())
    if not numbers:
        raise SystemExit(f"no published round of {operation}")
    return numbers[len(numbers) // 2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str, port: int, workers: int) -> subprocess.Popen:
    # as `mobtrack serve --workers N` runs it
    code = ("import uvicorn; "
            f"uvicorn.run('mobtrack.web.app:app_from_env', factory=True, workers={workers}, host='127.0.0.1', "
            f"port={port}, log_level='warning', access_log=False)")
    env = {**os.environ, "MOBTRACK_DATABASE_URL": db, "MOBTRACK_SECURE_COOKIES": "0"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(url: str, params: dict, headers: dict, seconds: float) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        mine = []
        with httpx.Client(headers=headers, timeout=30) as c:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if time.perf_counter() > deadline:
                    break
                t = time.perf_counter()
                r = c.get(url, params=params)
                mine.append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise RuntimeError(f"{url} -> {r.status_code}: {r.text[:300]}")
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def sequential(call, n: int = 30) -> list[float]:
    call()  # warm
    out = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    return out


def service_calls(db: str, operation: str, number: int, level: int):
    """The same queries as the endpoints, straight through the service layer (no HTTP, no JSON)."""
    from mobtrack.store.db import get_engine
    from mobtrack.web.services import catalogue, dtm_v3
    from mobtrack.web.services import figures as service
    from mobtrack.web.services.principal import ANONYMOUS, Principal

    engine = get_engine(db)
    analyst = Principal(user_id=0, username="bench", role="analyst", countries=frozenset({"*"}), via="token")

    def figures(who):
        def call():
            with engine.connect() as conn:
                op = catalogue.find_operation(conn, who, operation)
                view = catalogue.view_of(who, op["name"], op["country_iso3"])
                return service.figures(conn, view, level, round_number=number)[0]
        return call

    def v3(who):
        def call():
            with engine.connect() as conn:
                return dtm_v3.rows(conn, who, 2, {"Operation": operation, "FromRoundNumber": number,
                                                  "ToRoundNumber": number})
        return call

    return {("figures", "public"): figures(ANONYMOUS), ("figures", "analyst"): figures(analyst),
            ("v3 admin2", "public"): v3(ANONYMOUS), ("v3 admin2", "analyst"): v3(analyst)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="PostgreSQL URL for a new store (default: a new SQLite file)")
    ap.add_argument("--store", help="an existing store to reuse (skips generating and importing)")
    ap.add_argument("--countries", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=8.0, help="load time per scenario")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mobtrack-webbench-"))
    if args.store:
        db, total = args.store, None
    else:
        db, total = build_store(args, folder)
    extra = prepare(db)
    operation, level = f"Synthetic operation {COUNTRIES[0]}", 2
    number = middle_published_round(db, operation)
    port = free_port()
    server = start_server(db, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    scenarios = {
        ("figures", "public"): (f"{base}/api/v1/operations/{operation}/figures",
                                {"level": level, "round": number, "limit": 10000}, {}),
        ("figures", "analyst"): (f"{base}/api/v1/operations/{operation}/figures",
                                 {"level": level, "round": number, "limit": 10000},
                                 {"Authorization": f"Bearer {extra['token']}"}),
        ("v3 admin2", "public"): (f"{base}/v3/displacement/admin2",
                                  {"Operation": operation, "FromRoundNumber": number, "ToRoundNumber": number}, {}),
        ("v3 admin2", "analyst"): (f"{base}/v3/displacement/admin2",
                                   {"Operation": operation, "FromRoundNumber": number, "ToRoundNumber": number},
                                   {"Ocp-Apim-Subscription-Key": extra["token"]}),
    }
    services = service_calls(db, operation, number, level)
    kind = "postgresql" if db.startswith("postgres") else "sqlite"
    print(f"\n== web API on {kind}" + (f", {total:,} observations" if total else "") +
          f"; {operation}, round {number}, {CLIENTS} concurrent clients, {args.seconds:.0f} s each, "
          f"{args.workers} server worker(s)")
    print(f"{'query':24} {'service p50':>12} {'API p50 (1 client)':>19} {'overhead':>9} "
          f"{'API p95 (20 clients)':>21} {'req/s':>7}")
    try:
        for key, (url, params, headers) in scenarios.items():
            first = time.perf_counter()
            httpx.get(url, params=params, headers=headers, timeout=600).raise_for_status()
            cold = time.perf_counter() - first
            svc = sequential(services[key])
            with httpx.Client(headers=headers, timeout=30) as c:
                api = sequential(lambda c=c, url=url, params=params: c.get(url, params=params).raise_for_status())
            times = load(url, params, headers, args.seconds)
            s50, a50 = statistics.median(svc), statistics.median(api)
            overhead = (a50 - s50) / s50  # the API's own time as a multiple of the service's
            p95 = p(times, 0.95)
            print(f"{key[0] + ' (' + key[1] + ')':24} {s50 * 1000:9.1f} ms {a50 * 1000:16.1f} ms {overhead:8.2f}x "
                  f"{p95 * 1000:18.1f} ms {len(times) / args.seconds:7.0f}   (first call {cold:.1f} s; "
                  f"targets: p95 <= 100 ms, ratio {p95 / 0.1:.2f}; overhead <= 2x)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.db and not args.store:  # the bench's own database, not one it was pointed at
            drop_database(db)


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from mobtrack.store.db import get_engine

    get_engine(url).dispose()
    target = make_url(url)
    with create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
