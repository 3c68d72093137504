"""First-view page weight of the pages: HTML + CSS + JS + data, against the 1 MB budget (issue 3, item 8).

    .venv/bin/python bench/web_page_weight.py                 # builds the demo store in a temp folder
    .venv/bin/python bench/web_page_weight.py --db mobtrack.db --operation "NAME"
    .venv/bin/python bench/web_page_weight.py --country HTI --boundaries ../shared/data/geo/boundaries/HTI/*.geojson
        # synthetic rounds on real, full-detail COD boundaries (the demo's are coarse)

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


def boundary_store(folder: Path, country: str, files: list[Path]) -> tuple[str, str]:
    """Three synthetic rounds on every admin2 unit of the given boundary files (loaded as the gazetteer)."""
    import polars as pl
    from sqlalchemy import select

    from mobtrack.gazetteer import load_paths
    from mobtrack.pipeline import import_file
    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.store.publishing import publish
    from mobtrack.store.schema import location
    from mobtrack.synthetic import synthetic_rounds, write_csv

    url = f"sqlite:///{folder / 'boundaries.db'}"
    upgrade(url)
    with get_engine(url).begin() as conn:
        load_paths(conn, files, country_iso3=country, version_name="bench")
        rows = conn.execute(select(location.c.pcode, location.c.parent_pcode).where(
            location.c.country_iso3 == country, location.c.admin_level == 2)).all()
    if not rows:
        raise SystemExit(f"no admin2 units for {country} in {[str(f) for f in files]}")
    places = pl.DataFrame(rows, schema={"adm2_pcode": pl.String, "adm1_pcode": pl.String}, orient="row")
    operation = f"Synthetic bench: {country} (not real data)"
    records = synthetic_rounds(places.with_columns(pl.lit(2, pl.Int8).alias("admin_level")), operation=operation,
                               country_iso3=country, rounds=3, seed=3)
    path = folder / "rounds.csv"
    write_csv(records, path)
    result = import_file(path, db_url=url)
    if result.status != "imported":
        raise SystemExit(f"synthetic import failed: {result.message}")
    with get_engine(url).begin() as conn:
        for number in (1, 2, 3):
            publish(conn, operation, number)
    return url, operation


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
    parser.add_argument("--country", help="with --boundaries: their ISO3 code")
    parser.add_argument("--boundaries", nargs="+", type=Path, help="admin1/admin2 boundary files (GeoJSON/shapefile)")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from mobtrack.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        if args.boundaries:
            if not args.country:
                raise SystemExit("--country is needed with --boundaries")
            print("loading the boundaries and importing synthetic rounds...", file=sys.stderr)
            url, operation = boundary_store(Path(tmp), args.country.upper(), args.boundaries)
        elif args.db:
            url, operation = args.db, args.operation
            if not operation:
                raise SystemExit("--operation is needed with --db")
        else:
            print("building the demo store...", file=sys.stderr)
            url, operation = demo_store(Path(tmp))
        client = TestClient(create_app(url, secure_cookies=False, upload_dir=Path(tmp) / "uploads"))
        op = quote(operation)
        pages = ["/", f"/dashboard?operation={op}&level=1", f"/dashboard?operation={op}&level=2", "/downloads",
                 "/flows?source=fm&top=50"]  # the most corridors the flows page draws
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
