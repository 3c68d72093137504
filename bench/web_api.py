"""Benchmark: the API under 20 concurrent loopback clients, against the service layer's own time.

Targets (issue 3, item 8): on the 10-million-observation store, `figures` and `/v3/displacement/admin2`
for one operation and round: p95 <= 100 ms under 20 concurrent clients, and the API's own overhead
<= 2x the service/database time for the same query, both measured in this run.

    .venv/bin/python bench/web_api.py --keep                           # SQLite, 10M observations, kept
    .venv/bin/python bench/web_api.py --keep --db postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python bench/web_api.py --countries 1 --rounds 20        # a quicker look (~800k)
    .venv/bin/python bench/web_api.py --store sqlite:////tmp/big.db    # reuse a store built before

--keep builds the store once (about 1.5 min for SQLite, 2.5 min for PostgreSQL on 2 cores) as
`<--keep-dir>/mt_webbench_5x50.db` or the database `mt_webbench_5x50`, and later runs reuse it.
The server runs in its own processes (uvicorn, --workers, 2 by default: one per core of the
reference machine) on 127.0.0.1; the load is bounded in time (--seconds per phase) and in requests.
Each query is answered once and checked against the service layer's answer, then every server
worker is warmed for WARM_SECONDS, so published round versions are decoded and protected once per
worker before timing, as on a running server. For each query
the service call, the cached API answer and the uncached API answer take turns in short slices
under the same 20-way concurrency, so the ratios hold even when other processes load the machine;
CPU time per call (this process for the service call, the server's processes for HTTP) is printed
too, as it depends much less on that load than latency does.

The HTTP load comes from bench/http_load.py: 20 keep-alive connections on one event loop in this
process, each with one request in flight, latency timed at the client from the request's first byte
written to the answer's last byte read. Its own CPU per request is printed (`gen`): it runs on the
same cores as the server, so what it takes the server cannot use (20 threads with an httpx.Client
each, used before, took about ten times as much: 0.7 ms per request against 0.07-0.16 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from databases import drop_database  # noqa: E402
from http_load import Load  # noqa: E402
from import_10m import COUNTRIES  # noqa: E402
from web_store import (  # noqa: E402
    build_store,
    kept_store,
    middle_published_round,
    prepare,
    stored_observations,
)

CLIENTS = 20
WARM_SECONDS = 2.0
SLICES = 5  # each phase's time is cut into this many slices, interleaved with the other phases'
MAX_REQUESTS_PER_CLIENT = 5000


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
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hammer(call, seconds: float) -> list[float]:
    """CLIENTS threads calling `call()` back to back for `seconds` (and at most MAX_REQUESTS_PER_CLIENT
    times each); the time of every call. For the service layer, which runs in this process."""
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


def summary_of(kind: str, answer: bytes) -> tuple:
    """(rows, total, hidden) of an API answer, as service_calls computes them."""
    body = json.loads(answer)
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
    ap.add_argument("--seconds", type=float, default=6.0,
                    help="load time per phase (3 phases per query, interleaved in slices)")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (one per core)")
    ap.add_argument("--only", help="only the queries whose label contains this, e.g. 'analyst' or 'v3'")
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
    if args.only:
        scenarios = {k: v for k, v in scenarios.items() if args.only in f"{k[0]} ({k[1]})"}
    services = service_calls(db, operation, number, level)
    kind = "postgresql" if db.startswith("postgres") else "sqlite"
    print(f"\n== web API on {kind}, {total:,} observations; {operation}, round {number}, admin{level}; "
          f"{CLIENTS} concurrent clients, {args.seconds:.0f} s per phase in {SLICES} interleaved slices; "
          f"uvicorn with {args.workers} worker(s); {load_average()} at the start")
    print(LEGEND)
    print(f"{'query':20} {'rows':>4} | {'db p50':>6} {'p95':>6} {'cpu':>5} | {'api p50':>7} {'p95':>6} {'cpu':>5} "
          f"{'gen':>4} {'req/s':>5} {'ovh':>6} | {'uncached p95':>12} {'cpu':>5} {'gen':>4} {'ovh':>6} {'cpu ovh':>7}")
    results = []
    try:
        for key, (url, params, headers) in scenarios.items():
            api_load, raw_load = Load(url, params, headers, CLIENTS), Load(url, params, headers, CLIENTS, unique=True)
            first = time.perf_counter()
            status, answer = api_load.get()
            cold = time.perf_counter() - first
            expected = services[key]()
            if status != 200 or summary_of(key[0], answer) != expected:  # a fast wrong answer is worth nothing
                raise SystemExit(f"{key}: the API answered {status} {answer[:300]!r}, the service layer {expected} "
                                 f"(rows, total, hidden)")
            svc = Phase(own_cpu, lambda seconds, call=services[key]: hammer(call, seconds))
            api, raw = (Phase(lambda: tree_cpu(server.pid), lambda seconds, load=load: load.run(
                seconds, MAX_REQUESTS_PER_CLIENT), load) for load in (api_load, raw_load))
            # Every worker process keeps its own caches: 20 connections spread over all of them,
            # so each has answered before timing starts (a running server's workers have too).
            api_load.run(WARM_SECONDS, MAX_REQUESTS_PER_CLIENT)
            raw_load.run(WARM_SECONDS, MAX_REQUESTS_PER_CLIENT)
            api_load.cpu = raw_load.cpu = api_load.requests = raw_load.requests = 0
            # The three phases take turns in short slices, so a change in the machine's load (other
            # processes) falls on all three alike and their ratios stay comparable.
            for _ in range(SLICES):
                for phase in (svc, api, raw):
                    phase.run(args.seconds / SLICES)
            api_load.close()
            raw_load.close()
            results.append((key, svc, api, raw))
            print(row_of(key, expected[0], svc, api, raw) + f"  (first call {cold:.1f} s)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.db and not (args.store or args.keep):  # the bench's own database, not one kept or given
            drop_database(db)
        # generated files and the bench's own SQLite store (a kept one has been moved out already)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{load_average()} at the end")
    for (query, who), svc, api, raw in results:
        ovh, raw_ovh = api.p95 / svc.p95 - 1, raw.p95 / svc.p95 - 1
        print(f"{query} ({who}): p95 {api.p95 * 1000:.1f} ms {verdict(api.p95 <= 0.1)} (uncached "
              f"{raw.p95 * 1000:.1f} ms {verdict(raw.p95 <= 0.1)}); API overhead {ovh:.2f}x {verdict(ovh <= 2)} "
              f"(uncached {raw_ovh:.2f}x {verdict(raw_ovh <= 2)}; in CPU time {raw.cpu_per_call / svc.cpu_per_call - 1:.2f}x)")


LEGEND = """\
db: the service-layer call (the same query: no HTTP, JSON, authentication or audit) from 20 threads in this
process; api: HTTP GET from 20 keep-alive connections (one request in flight on each, bench/http_load.py),
answered from the server's response cache as deployed (an analyst's read is still authorised and audited
each time); uncached: a parameter the endpoint ignores changes every time, so every request runs the
query. p50/p95: latency in ms, measured at the client; cpu: ms of CPU per call (db: this process; api:
the server's processes, not PostgreSQL's); gen: ms of CPU the load generator spent per request (taken
from the same cores); ovh: API overhead = api p95 / db p95 - 1 (target <= 2x); cpu ovh: the same from
CPU time (uncached). Target: api p95 <= 100 ms."""


def verdict(ok: bool) -> str:
    return "[met]" if ok else "[NOT met]"


class Phase:
    """Latencies of one kind of call over its slices, the CPU time spent serving them and, for HTTP,
    the load generator that made them."""

    def __init__(self, cpu_clock, timed, load: Load | None = None):
        self.cpu_clock, self.timed, self.load = cpu_clock, timed, load
        self.times, self.cpu, self.wall = [], 0.0, 0.0

    def run(self, seconds: float) -> None:
        cpu, wall = self.cpu_clock(), time.perf_counter()
        self.times += self.timed(seconds)
        self.cpu += self.cpu_clock() - cpu
        self.wall += time.perf_counter() - wall

    @property
    def p95(self) -> float:
        return percentile(self.times, 0.95)

    @property
    def cpu_per_call(self) -> float:
        return self.cpu / max(len(self.times), 1)


def row_of(key: tuple, rows: int, svc: Phase, api: Phase, raw: Phase) -> str:
    def ms(x: float) -> str:
        return f"{x * 1000:6.1f}"
    return (f"{key[0] + ' (' + key[1] + ')':20} {rows:4d} | {ms(percentile(svc.times, 0.5))} {ms(svc.p95)} "
            f"{svc.cpu_per_call * 1000:5.1f} | {ms(percentile(api.times, 0.5)):>7} {ms(api.p95)} "
            f"{api.cpu_per_call * 1000:5.1f} {api.load.cpu_per_request * 1000:4.2f} {len(api.times) / api.wall:5.0f} "
            f"{api.p95 / svc.p95 - 1:5.2f}x | {ms(raw.p95):>12} {raw.cpu_per_call * 1000:5.1f} "
            f"{raw.load.cpu_per_request * 1000:4.2f} {raw.p95 / svc.p95 - 1:5.2f}x "
            f"{raw.cpu_per_call / svc.cpu_per_call - 1:6.2f}x")


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (the uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, total = {pid}, 0.0
    for _ in range(3):  # master -> workers (-> their helpers)
        tree |= {p for p, (parent, _) in stats.items() if parent in tree}
    for p in tree:
        total += stats.get(p, (0, 0.0))[1]
    return total


if __name__ == "__main__":
    main()
