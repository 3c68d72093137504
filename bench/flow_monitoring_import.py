"""Flow-monitoring import throughput as a ratio to `polars.read_csv` of the same file, with peak memory.

    .venv/bin/python bench/flow_monitoring_import.py [FILE] [--profile] [--db postgresql://...] [--runs N]

Default FILE: ../shared/data/dtm/flow-monitoring/dtm_wca.csv.gz (867,580 rows). Each stage runs in
its own process so that its peak resident memory (ru_maxrss) is its own:

  read_csv  polars.read_csv(FILE)                      the baseline
  adapter   the flow-monitoring adapter, every batch   (reading, checking, summing into cells)
  import    mobtrack.pipeline.import_file into a fresh SQLite database (one transaction), or a fresh
            PostgreSQL database on the server of `--db URL`

The adapter is also run on the file repeated three times, to show its peak memory does not grow
with the file (it holds summed cells, not rows). Each stage is timed after its modules are imported
(Python imports are not parsing). Wall time on a shared machine is noisy, so CPU time (user+sys of the stage's process) is shown too
and the ratios are given for both. Every stage runs `--runs N` times (default 3), each in a new
process, and the best wall and the best CPU time of each stage are kept, the baseline's as much as
the import's: a single read_csv of 0.15 s can take twice as long when another process wakes up.
Target (issue 6): import within 5x of read_csv.
`--profile` adds the top functions of the import by cumulative time (cProfile), from one more run
that is not timed.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from databases import drop_database, fresh_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "data" / "dtm" / "flow-monitoring" / "dtm_wca.csv.gz"


def stage(name: str, path: Path, profile: bool, server: str | None = None) -> dict:
    # Every stage is timed from after its modules are imported: `import polars` alone costs about as
    # much as parsing this file, and counting it in the baseline only flattered the ratio.
    import polars as pl

    rows = None
    if name == "read_csv":
        wall, cpu0 = time.perf_counter(), time.process_time()
        rows = pl.read_csv(path).height
    elif name == "adapter":
        from mobtrack.ingest import ImportOptions, SourceFile
        from mobtrack.ingest.flow_monitoring import FlowMonitoringAdapter

        wall, cpu0 = time.perf_counter(), time.process_time()
        rows = sum(b.records.height for b in FlowMonitoringAdapter().read(SourceFile.from_path(path), ImportOptions()))
    else:
        from mobtrack.ingest import _load_builtin_adapters
        from mobtrack.pipeline import import_file

        _load_builtin_adapters()  # the adapters' modules (libhxl, openpyxl...) like every other import

        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_database(server, tmp, "mt_bench_fm")
            from mobtrack.store.db import ensure_schema

            ensure_schema(url)  # creating the schema is not part of an import's cost
            wall, cpu0 = time.perf_counter(), time.process_time()
            if profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                result = prof.runcall(import_file, path, db_url=url)
                stats = pstats.Stats(prof, stream=sys.stderr)
                stats.sort_stats("cumulative").print_stats(r"mobtrack", 25)
            else:
                result = import_file(path, db_url=url)
            rows = result.observations
            assert result.status == "imported", result.message
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {"stage": name, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu0,
           "peak_mb": usage.ru_maxrss / 1024, "rows_out": rows}
    if name == "import" and server:
        drop_database(url)
    return out


def run(name: str, path: Path, profile: bool, server: str | None = None) -> dict:
    cmd = ([sys.executable, __file__, "--stage", name, str(path)] + (["--profile"] if profile else [])
           + (["--db", server] if server else []))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    if profile and out.stderr:
        print(out.stderr, file=sys.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _repeat(path: Path, out: Path, times: int) -> None:
    """The file's rows `times` over (same header), gzipped: a bigger file with the same cells."""
    import gzip

    with gzip.open(path, "rb") as fh:
        header, body = fh.readline(), fh.read()
    with gzip.open(out, "wb", compresslevel=1) as fh:
        fh.write(header)
        for _ in range(times):
            fh.write(body)


def main(argv: list[str]) -> None:
    profile = "--profile" in argv
    server = argv[argv.index("--db") + 1] if "--db" in argv else None
    options = {argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--db", "--runs")}
    args = [a for a in argv if not a.startswith("--") and a not in options]
    if "--stage" in argv:
        print(json.dumps(stage(args[0], Path(args[1]), profile, server)))
        return
    path = Path(args[0]) if args else DEFAULT
    if not path.is_file():
        sys.exit(f"no such file: {path}")
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    if profile:
        run("import", path, True, server)
    # the stages take turns, so that a busy spell of the machine does not fall on one stage only
    rounds = [[run(name, path, False, server if name == "import" else None) for name in ("read_csv", "adapter", "import")]
              for _ in range(runs)]
    results = [{**stage_runs[0], "wall_s": min(r["wall_s"] for r in stage_runs),
                "cpu_s": min(r["cpu_s"] for r in stage_runs), "peak_mb": max(r["peak_mb"] for r in stage_runs)}
               for stage_runs in zip(*rounds, strict=True)]
    base = results[0]
    with tempfile.TemporaryDirectory() as tmp:
        triple = Path(tmp) / f"x3_{path.name}"
        _repeat(path, triple, 3)
        tripled = run("adapter", triple, False)
    print(f"file: {path.name} ({path.stat().st_size / 1e6:.1f} MB, {base['rows_out']:,} rows); "
          f"import into {'postgresql' if server else 'sqlite'}; best of {runs} runs of each stage")
    print(f"{'stage':<10}{'wall s':>9}{'cpu s':>9}{'x wall':>9}{'x cpu':>9}{'peak MB':>10}{'rows out':>11}")
    for r in results:
        print(f"{r['stage']:<10}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}{r['wall_s'] / base['wall_s']:>9.1f}"
              f"{r['cpu_s'] / base['cpu_s']:>9.1f}{r['peak_mb']:>10.0f}{r['rows_out']:>11,}")
    imp = results[-1]
    print(f"import throughput: {base['rows_out'] / imp['wall_s']:,.0f} source rows/s; "
          f"ratio to polars.read_csv {imp['wall_s'] / base['wall_s']:.1f}x wall, {imp['cpu_s'] / base['cpu_s']:.1f}x cpu "
          f"(target <= 5x)")
    print(f"adapter peak memory: {results[1]['peak_mb']:.0f} MB on the file, {tripled['peak_mb']:.0f} MB on the file "
          f"repeated 3x ({3 * base['rows_out']:,} rows): memory does not grow with the file")


if __name__ == "__main__":
    main(sys.argv[1:])
