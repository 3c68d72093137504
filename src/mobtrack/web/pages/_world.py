"""Country outlines for flow maps at country level: Natural Earth admin 0 (public domain), shipped as
`mobtrack/data/world_admin0.geojson`, simplified for drawing only.

The gazetteer stores the boundaries of the countries an installation works on, not of the world; a flow
map of international corridors still needs the countries in between to be readable. These outlines are a
backdrop and nothing else: no figure is ever attached to them, and arcs start at the crosswalk's centroids.

Rebuild (from the shared data folder, which holds Natural Earth's `naturalearth_lowres` shapefile):

    python -m mobtrack.web.pages._world ../shared/data
"""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import resources
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

FILE = "data/world_admin0.geojson"
TOLERANCE = 0.05  # degrees: about 5 km, far below what a country-scale map shows


@cache
def outlines() -> dict[str, tuple[str, object]]:
    """code -> (name, geometry) for every country in the file; empty when the file is missing."""
    path = resources.files("mobtrack").joinpath(FILE)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f["properties"]["code"]: (f["properties"]["name"], shape(f["geometry"])) for f in data["features"]}


def within(bounds: tuple[float, float, float, float]) -> dict[str, tuple[str, object]]:
    """The countries that reach into a lon/lat box (minx, miny, maxx, maxy), clipped to it."""
    box = shapely.box(*bounds)
    out = {}
    for code, (name, geom) in outlines().items():
        if geom.intersects(box):
            clipped = geom.intersection(box)
            if not clipped.is_empty:
                out[code] = (name, clipped)
    return out


def build(shared: Path) -> dict:
    import shapefile

    reader = shapefile.Reader(str(shared / "geo" / "boundaries" / "WORLD" / "naturalearth_lowres"))
    features = []
    for rec, shp in zip(reader.records(), reader.shapes(), strict=True):
        # Kosovo has no ISO code in Natural Earth ('-99'): the crosswalk's XKX, as in build_crosswalk
        code = "XKX" if rec["name"] == "Kosovo" else rec["iso_a3"]
        if code in ("-99", ""):
            code = f"NE:{rec['name']}"  # drawn, never joined to a figure
        geom = shapely.simplify(shape(shp.__geo_interface__), TOLERANCE, preserve_topology=True)
        geom = shapely.set_precision(geom, 0.01)
        if not geom.is_empty:
            features.append({"type": "Feature", "properties": {"code": code, "name": rec["name"]},
                             "geometry": mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(__file__).resolve().parents[2] / FILE
    out.write_text(json.dumps(build(Path(argv[0])), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
