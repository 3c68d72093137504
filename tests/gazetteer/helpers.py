"""Small synthetic COD-style gazetteer files (clearly invented places) for the gazetteer tests."""

from __future__ import annotations

import json
from pathlib import Path


def square(x: float, y: float, size: float = 1.0) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


# Two admin1 units of an invented Chad layout (TCD codes, ISO3 prefix), FR and AR names.
ADM1 = [
    {"ADM1_EN": "Lake", "ADM1_FR": "Lac", "ADM1_AR": "البحيرة", "ADM1_PCODE": "TCD07", "ADM0_PCODE": "TD",
     "validOn": "2024-01-01", "validTo": None},
    {"ADM1_EN": "Batha", "ADM1_FR": "Batha", "ADM1_AR": "البطحاء", "ADM1_PCODE": "TCD01", "ADM0_PCODE": "TD",
     "validOn": "2024-01-01", "validTo": None},
]
ADM2 = [
    {"ADM2_EN": "Mamdi", "ADM2_FR": "Mamdi", "ADM2_PCODE": "TCD0701", "ADM1_EN": "Lake", "ADM1_FR": "Lac",
     "ADM1_PCODE": "TCD07", "ADM0_PCODE": "TD", "validOn": "2024-01-01", "validTo": None},
    {"ADM2_EN": "Wayi", "ADM2_FR": "Wayi", "ADM2_PCODE": "TCD0702", "ADM1_EN": "Lake", "ADM1_FR": "Lac",
     "ADM1_PCODE": "TCD07", "ADM0_PCODE": "TD", "validOn": "2024-01-01", "validTo": None},
    {"ADM2_EN": "Batha Est", "ADM2_FR": "Batha Est", "ADM2_PCODE": "TCD0101", "ADM1_EN": "Batha",
     "ADM1_FR": "Batha", "ADM1_PCODE": "TCD01", "ADM0_PCODE": "TD", "validOn": "2024-01-01", "validTo": None},
]


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": square(i, 0)} for i, props in enumerate(features)]}))
    return path


def write_shapefile(path: Path, features: list[dict]) -> Path:
    import shapefile

    with shapefile.Writer(str(path), shapeType=shapefile.POLYGON, encoding="utf-8") as w:
        fields = [k for k in features[0] if features[0][k] is not None]
        for f in fields:
            w.field(f, "C", size=80)
        for i, props in enumerate(features):
            w.poly(square(i, 0)["coordinates"])
            w.record(*[props[f] for f in fields])
    path.with_suffix(".cpg").write_text("UTF-8")
    return path
