"""HXL CSV import: speed against polars.read_csv, and peak memory as the file grows.

Generates two synthetic HXL-tagged CSV files (N and 4N rows, 6 count columns each), then, each
in a fresh process so that peak memory is its own:
  - `polars.read_csv` of the whole file (the baseline: the raw parse, everything in memory);
  - the HXL adapter producing canonical records batch by batch (records are dropped as they come,
    as the importer does after writing each batch).
Prints the adapter's time as a ratio of the raw parse, and each reader's peak anonymous-memory
growth from N to 4N rows (sampled from /proc, Linux): a streaming reader stays near 1x, a whole-file reader grows with the file.

    .venv/bin/python bench/ingest_hxl_stream.py [N]      # default N = 100000
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

HEADER = "Date,Country,Region code,District code,Ward code,Ward,IDP HH,IDP Ind,Ret HH,Ret Ind,IDP F,IDP M\n"
TAGS = ("#date+reported,#country+code,#adm1+code,#adm2+code,#adm3+code,#adm3+name,#affected+idps+hh,"
        "#affected+idps+ind,#affected+returnees+hh,#affected+returnees+ind,#affected+idps+ind+f,#affected+idps+ind+m\n")


def generate(path: Path, rows: int) -> None:
    i = pl.int_range(rows, eager=True)
    frame = pl.DataFrame({
        "date": ["2024-03-31"] * rows,
        "country": ["KEN"] * rows,
        "adm1": ("KE" + (i % 47 + 1).cast(pl.String).str.zfill(2)),
        "adm2": ("KE" + (i % 470 + 1).cast(pl.String).str.zfill(4)),
        "adm3": ("KE" + i.cast(pl.String).str.zfill(7)),
        "name": ("Ward " + i.cast(pl.String)),
        "idp_hh": i % 97, "idp_ind": (i % 97) * 5, "ret_hh": i % 13, "ret_ind": (i % 13) * 4,
        "f": (i % 97) * 3, "m": (i % 97) * 2,
    })
    with open(path, "w") as fh:
        fh.write(HEADER)
        fh.write(TAGS)
    with open(path, "a") as fh:
        frame.write_csv(fh, include_header=False)


CHILD = r"""
import json, sys, threading, time
from pathlib import Path
import polars as pl
mode, path = sys.argv[1], Path(sys.argv[2])

# Peak *anonymous* resident memory, sampled: Polars memory-maps the CSV, and those file-backed
# pages count in the process's RSS although the kernel can drop them at will.
peak = [0]
def sample():
    while True:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        time.sleep(0.005)
threading.Thread(target=sample, daemon=True).start()
time.sleep(0.05)
start = time.perf_counter()
rows = 0
if mode == "polars":
    rows = pl.read_csv(path, skip_rows_after_header=1, infer_schema=False).height
else:
    from mobtrack.ingest.base import ImportOptions, SourceFile
    from mobtrack.ingest.hxl import HxlAdapter
    for batch in HxlAdapter().read(SourceFile.from_path(path), ImportOptions(batch_rows=50_000)):
        rows += batch.records.height
seconds = time.perf_counter() - start
time.sleep(0.05)
print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak[0] / 1024}))
"""


def run(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "ken_baseline_assessment_round_1_small.csv"
        large = Path(tmp) / "ken_baseline_assessment_round_1_large.csv"
        generate(small, n)
        generate(large, 4 * n)
        results = {(mode, name): run(mode, path) for name, path in (("N", small), ("4N", large))
                   for mode in ("polars", "hxl")}
    for (mode, name), r in results.items():
        print(f"{mode:7s} {name:3s} {r['rows']:>10,} rows out  {r['seconds']:6.2f} s  peak heap {r['peak_mb']:7.0f} MB")
    speed = results[("hxl", "4N")]["seconds"] / results[("polars", "4N")]["seconds"]
    print(f"\nHXL adapter time / polars.read_csv time (4N = {4 * n:,} rows, 6 counts per row): {speed:.1f}x")
    for mode in ("polars", "hxl"):
        growth = results[(mode, "4N")]["peak_mb"] / results[(mode, "N")]["peak_mb"]
        print(f"peak memory 4N / N, {mode}: {growth:.2f}x")


if __name__ == "__main__":
    main()
