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
    data.unlink()  # hundreds of MB at full size; the store keeps what the bench needs
    return db, total


def stored_observations(db: str) -> int:
    from sqlalchemy import func, select

    from mobtrack.store.db import get_engine
    from mobtrack.store.schema import round_, round_version

    with get_engine(db).connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(round_version.c.observations), 0)).join(
            round_, round_.c.current_version_id == round_version.c.id)).scalar())


def kept_store(args, folder: Path) -> tuple[str, int]:
    """The store of this shape (--countries x --rounds), built once and kept for later runs.

    It is built under a temporary name and renamed only when the import has finished, so a store
    found under the kept name is always complete: SQLite `<--keep-dir>/mt_webbench_CxR.db`, or the
    PostgreSQL database `mt_webbench_CxR` on the server of --db.
    """
    name = f"mt_webbench_{args.countries}x{args.rounds}"
    if not args.db:
        path = Path(args.keep_dir) / f"{name}.db"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            built, _ = build_store(args, folder)
            source = Path(built.removeprefix("sqlite:///"))
            # the import ran in a child process that has exited, so its WAL is checkpointed; move
            # any leftovers with the file all the same
            for suffix in ("-wal", "-shm"):
                if Path(f"{source}{suffix}").exists():
                    os.replace(f"{source}{suffix}", f"{path}{suffix}")
            os.replace(source, path)
        db = f"sqlite:///{path}"
        return db, stored_observations(db)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from mobtrack.store.db import resolve_url

    server = make_url(resolve_url(args.db))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    if not exists:
        built, _ = build_store(args, folder)  # only child processes connected to it, and they have exited
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{make_url(built).database}" RENAME TO "{name}"'))
    admin.dispose()
    db = server.set(database=name).render_as_string(hide_password=False)
    return db, stored_observations(db)


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hammer(call, seconds: float) -> list[float]:
    """CLIENTS threads calling `call()` back to back for `seconds` (and at most MAX_CALLS each)."""
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        mine = []
        try:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if time.perf_counter() > deadline:
                    break
                t = time.perf_counter()
                call()
                mine.append(time.perf_counter() - t)
        except BaseException as exc:  # noqa: BLE001 -- raised in the main thread below
            errors.append(exc)
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return times


def http_call(url: str, params: dict, headers: dict, unique: bool = False):
    """GET `url` on a keep-alive client per thread. `unique` adds a parameter the endpoint ignores, with
    a new value each time, so the server's response cache never answers and every request runs the query."""
    local = threading.local()
    counter = iter(range(10**9))

    def call() -> httpx.Response:
        if not hasattr(local, "client"):
            local.client = httpx.Client(headers=headers, timeout=60)
        r = local.client.get(url, params={**params, "bench_nocache": next(counter)} if unique else params)
        if r.status_code != 200:
            raise RuntimeError(f"{url} -> {r.status_code}: {r.text[:300]}")
        return r
    return call


def service_calls(db: str, operation: str, number: int, level: int):
    """The same queries as the endpoints, straight through the service layer: no HTTP, no JSON, no
    authentication, no audit entry. What each returns is checked against the API's answer."""
    import polars as pl

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
                frame = service.figures(conn, view, level, round_number=number)[0]
            return frame.height, frame["value"].sum(), int(frame["suppressed"].sum())
        return call

    def v3(who):
        def call():
            with engine.connect() as conn:
                rows = dtm_v3.rows(conn, who, 2, {"Operation": operation, "FromRoundNumber": number,
                                                  "ToRoundNumber": number})
            values = pl.Series([r["numPresentIdpInd"] for r in rows], dtype=pl.Int64)
            return len(rows), values.sum(), values.null_count()
        return call

    return {("figures", "public"): figures(ANONYMOUS), ("figures", "analyst"): figures(analyst),
            ("v3 admin2", "public"): v3(ANONYMOUS), ("v3 admin2", "analyst"): v3(analyst)}


def summary_of(kind: str, response: httpx.Response) -> tuple:
    """(rows, total, hidden) of an API answer, as service_calls computes them."""
    body = response.json()
    if kind == "figures":
        rows = body["data"]
        return (body["count"], sum(r["value"] or 0 for r in rows), sum(1 for r in rows if r["suppressed"]))
    values = [r["numPresentIdpInd"] for r in body["result"]]
    return (body["totalRecordsCount"], sum(v or 0 for v in values), sum(v is None for v in values))


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} (1 / 5 min) on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="PostgreSQL URL for a new store (default: a new SQLite file)")
    ap.add_argument("--store", help="an existing store to reuse (skips generating and importing)")
    ap.add_argument("--keep", action="store_true",
                    help="build the store once under a name that says its shape and reuse it on later runs")
    ap.add_argument("--keep-dir", default=str(Path(tempfile.gettempdir()) / "mobtrack-webbench"),
                    help="where --keep puts SQLite stores")
    ap.add_argument("--countries", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=6.0, help="load time per phase (3 phases per query)")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (one per core)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mobtrack-webbench-"))
    if args.store:
        db, total = args.store, stored_observations(args.store)
    elif args.keep:
        db, total = kept_store(args, folder)
    else:
        db, total = build_store(args, folder)
    extra = prepare(db)
    operation, level = f"Synthetic operation {COUNTRIES[0]}", 2
    number = middle_published_round(db, operation)
    port = free_port()
    server = start_server(db, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    figures_params = {"level": level, "round": number, "limit": 10000}
    v3_params = {"Operation": operation, "FromRoundNumber": number, "ToRoundNumber": number}
    scenarios = {
        ("figures", "public"): (f"{base}/api/v1/operations/{operation}/figures", figures_params, {}),
        ("figures", "analyst"): (f"{base}/api/v1/operations/{operation}/figures", figures_params,
                                 {"Authorization": f"Bearer {extra['token']}"}),
        ("v3 admin2", "public"): (f"{base}/v3/displacement/admin2", v3_params, {}),
        ("v3 admin2", "analyst"): (f"{base}/v3/displacement/admin2", v3_params,
                                   {"Ocp-Apim-Subscription-Key": extra["token"]}),
    }
    services = service_calls(db, operation, number, level)
    kind = "postgresql" if db.startswith("postgres") else "sqlite"
    print(f"\n== web API on {kind}, {total:,} observations; {operation}, round {number}, admin{level}; "
          f"{CLIENTS} concurrent clients, {args.seconds:.0f} s per phase; uvicorn with {args.workers} worker(s); "
          f"{load_average()} at the start")
    print("db = the service-layer call (the same query, no HTTP) from 20 threads; api = HTTP from 20 clients, "
          "answers from the server's response cache as deployed; uncached = every request runs the query. "
          "overhead = (api p95 - db p95) / db p95; targets: api p95 <= 100 ms, overhead <= 2x")
    print(f"{'query':20} {'rows':>5} {'db p50':>7} {'db p95':>7} {'api p50':>8} {'api p95':>8} {'overhead':>8} "
          f"{'uncached p95':>13} {'overhead':>8} {'api req/s':>9}")
    verdicts = []
    try:
        for key, (url, params, headers) in scenarios.items():
            first = time.perf_counter()
            answer = http_call(url, params, headers)()
            cold = time.perf_counter() - first
            expected = services[key]()
            if summary_of(key[0], answer) != expected:  # a fast wrong answer is worth nothing
                raise SystemExit(f"{key}: the API answered {summary_of(key[0], answer)} (rows, total, hidden), "
                                 f"the service layer {expected}")
            db_times = hammer(services[key], args.seconds)
            api_times = hammer(http_call(url, params, headers), args.seconds)
            raw_times = hammer(http_call(url, params, headers, unique=True), args.seconds)
            db95, api95, raw95 = (percentile(t, 0.95) for t in (db_times, api_times, raw_times))
            overhead, raw_overhead = (api95 - db95) / db95, (raw95 - db95) / db95
            print(f"{key[0] + ' (' + key[1] + ')':20} {expected[0]:5d} {percentile(db_times, 0.5) * 1000:7.1f} "
                  f"{db95 * 1000:7.1f} {percentile(api_times, 0.5) * 1000:8.1f} {api95 * 1000:8.1f} "
                  f"{overhead:7.2f}x {raw95 * 1000:13.1f} {raw_overhead:7.2f}x {len(api_times) / args.seconds:9.0f}"
                  f"   (ms; first call {cold:.1f} s)")
            verdicts.append((key, api95, raw95, overhead, raw_overhead))
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.db and not (args.store or args.keep):  # the bench's own database, not one kept or given
            drop_database(db)
    print(f"{load_average()} at the end")
    for (query, who), api95, raw95, overhead, raw_overhead in verdicts:
        print(f"{query} ({who}): p95 {api95 * 1000:.1f} ms ({'met' if api95 <= 0.1 else 'NOT met'}; uncached "
              f"{raw95 * 1000:.1f} ms, {'met' if raw95 <= 0.1 else 'NOT met'}), overhead {overhead:.2f}x "
              f"({'met' if overhead <= 2 else 'NOT met'}; uncached {raw_overhead:.2f}x, "
              f"{'met' if raw_overhead <= 2 else 'NOT met'})")


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
