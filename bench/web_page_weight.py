"""First-view page weight of the pages: HTML + CSS + JS + data, against the 1 MB budget (issue 3, item 8).

    .venv/bin/python bench/web_page_weight.py                 # builds the demo store in a temp folder
    .venv/bin/python bench/web_page_weight.py --db mobtrack.db --operation "NAME"

What a first visit downloads for each page (anonymous visitor, published rounds): the HTML (the map is
inline SVG, the chart data inline JSON) plus every stylesheet and script it references. Bytes are counted
as sent (the server does not compress); the gzip size is printed for information. Prints one line per page
and the ratio of the heaviest to the budget: below 1.00 is within budget.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

BUDGET = 1_000_000  # bytes: "under 1 MB" for HTML + JS + CSS + data of the first view
ASSET = re.compile(r"""<(?:link[^>]+href|script[^>]+src)=["']([^"']+)["']""")


def demo_store(folder: Path) -> tuple[str, str]:
    from mobtrack.demo import OPERATION, ROUNDS, build_demo
    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import publish

    url = f"sqlite:///{folder / 'demo.db'}"
    build_demo(url)
    with get_engine(url).begin() as conn:
        for number in range(1, ROUNDS):  # the demo's last round has blocking errors by design
            publish(conn, OPERATION, number)
    return url, OPERATION


def weigh(client, path: str) -> dict:
    page = client.get(path, headers={"accept": "text/html", "accept-language": "en"})
    if page.status_code != 200:
        raise SystemExit(f"{path}: HTTP {page.status_code}")
    parts = {"html": page.content}
    for ref in ASSET.findall(page.text):
        asset = client.get(ref)
        if asset.status_code != 200:
            raise SystemExit(f"{path} references {ref}, which answers HTTP {asset.status_code}: "
                             "run scripts/install (npm ci + python -m mobtrack.web.assets)")
        parts[ref] = asset.content
    total = sum(len(b) for b in parts.values())
    zipped = sum(len(gzip.compress(b)) for b in parts.values())
    return {"path": path, "bytes": total, "gzip": zipped, "html": len(page.content), "files": len(parts)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL or SQLite path (default: a fresh demo store)")
    parser.add_argument("--operation", help="operation to open (default: the demo's)")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from mobtrack.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            url, operation = args.db, args.operation
            if not operation:
                raise SystemExit("--operation is needed with --db")
        else:
            print("building the demo store...", file=sys.stderr)
            url, operation = demo_store(Path(tmp))
        client = TestClient(create_app(url, secure_cookies=False, upload_dir=Path(tmp) / "uploads"))
        op = quote(operation)
        pages = ["/", f"/dashboard?operation={op}&level=1", f"/dashboard?operation={op}&level=2",
                 f"/location?operation={op}&pcode=SO22", "/downloads"]
        results = [weigh(client, p) for p in pages]
    for r in results:
        print(f"{r['path'][:70]:70}  {r['bytes']:>9,} B  ({r['files']} files, HTML {r['html']:,} B, "
              f"gzip {r['gzip']:,} B)  ratio to budget {r['bytes'] / BUDGET:.3f}")
    heaviest = max(results, key=lambda r: r["bytes"])
    print(f"heaviest first view: {heaviest['bytes']:,} B = {heaviest['bytes'] / BUDGET:.3f} x the 1 MB budget "
          f"({heaviest['path']})")
    return 0 if heaviest["bytes"] < BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
