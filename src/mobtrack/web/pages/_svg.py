"""Maps and small charts drawn on the server as SVG: no tiles, no map library, a few kilobytes per view.

Why server-side: the stored boundaries (location.geometry, WKB) are simplified once per country and level
and projected into a fixed viewBox, so the first view of a dashboard is one HTML response that works
without JavaScript and on a slow link. The browser only adds interaction (mobtrack.js).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np
import shapely
from sqlalchemy import Connection, func, select

from mobtrack.store.schema import location

WIDTH = 800  # viewBox width; the height follows the country's shape
# Sequential palette (ColorBrewer YlGnBu, 5 classes): ordered light to dark, readable by colour-blind people.
PALETTE = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
NO_DATA = "#e8e8e8"
SUPPRESSED = "url(#hatch)"


@dataclass
class Shape:
    pcode: str
    name: str
    path: str  # SVG path data in viewBox units


@dataclass
class Outline:
    shapes: list[Shape]
    height: int
    # Web Mercator bounds (radians) of the viewBox and its scale, to place basemap tiles under the shapes.
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    scale: float = 1.0


_OUTLINES: dict[tuple, Outline] = {}


def outline(conn: Connection, country_iso3: str, level: int) -> Outline:
    """The country's units at `level`, simplified and projected, cached until the places change."""
    stamp = conn.execute(select(func.count(location.c.id), func.max(location.c.id))
                         .where(location.c.country_iso3 == country_iso3)).one()
    key = (str(conn.engine.url), country_iso3, level, tuple(stamp))
    if key in _OUTLINES:
        return _OUTLINES[key]
    rows = conn.execute(
        select(location.c.pcode, location.c.name, location.c.geometry, location.c.boundary_version_id)
        .where(location.c.country_iso3 == country_iso3, location.c.admin_level == level,
               location.c.geometry.is_not(None))
        .order_by(location.c.boundary_version_id.desc(), location.c.pcode)
    ).all()
    # Several boundary versions may hold the same p-code: the newest version's shape wins.
    seen: dict[str, tuple[str, object]] = {}
    for r in rows:
        if r.pcode not in seen:
            seen[r.pcode] = (r.name, shapely.from_wkb(r.geometry))
    result = project(seen)
    if len(_OUTLINES) > 32:
        _OUTLINES.clear()
    _OUTLINES[key] = result
    return result


MAX_LAT = 85.05  # Web Mercator's limit


def mercator(lon, lat):
    """Longitude/latitude (degrees, arrays or scalars) to Web Mercator x/y in radians."""
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    return np.radians(lon), np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def project(shapes: dict[str, tuple[str, object]]) -> Outline:
    """Web Mercator into a WIDTH-wide viewBox, north up: the projection of web basemaps, so a configured
    tile layer lines up, and shapes look as people are used to seeing them."""
    if not shapes:
        return Outline([], 0)
    geoms = list(g for _, g in shapes.values())
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    (x0, x1), (y0, y1) = mercator(np.array([minx, maxx]), np.array([miny, maxy]))
    scale = WIDTH / max(x1 - x0, 1e-9)
    height = max(int(round((y1 - y0) * scale)), 1)

    def to_view(coords: np.ndarray) -> np.ndarray:
        mx, my = mercator(coords[:, 0], coords[:, 1])
        return np.column_stack([(mx - x0) * scale, (y1 - my) * scale])

    out = []
    for pcode, (name, geom) in shapes.items():
        projected = shapely.transform(geom, to_view)
        # Simplified in viewBox units, to half a unit: finer detail is invisible and only adds bytes.
        d = _path(shapely.simplify(projected, 0.5, preserve_topology=True))
        if d:
            out.append(Shape(pcode, name, d))
    return Outline(out, height, (float(x0), float(y0), float(x1), float(y1)), float(scale))


def _path(geom) -> str:
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            coords = [(round(x, 1), round(y, 1)) for x, y in ring.coords]
            if len(coords) < 4:
                continue
            parts.append("M" + "L".join(f"{x:g} {y:g}" for x, y in coords[:-1]) + "Z")
    return "".join(parts)


def basemap_tiles(outline: Outline, template: str | None, tile_px: int = 256) -> list[dict]:
    """Tiles of an XYZ basemap (`template` with {z}, {x}, {y}) covering the map, placed in viewBox units.

    Off unless configured (MOBTRACK_BASEMAP_URL): the pages never reach another server on their own."""
    if not template or not outline.shapes:
        return []
    x0, y0, x1, y1 = outline.bounds
    world = 2 * math.pi
    zoom = max(0, min(18, round(math.log2(world * outline.scale / tile_px))))
    n = 2 ** zoom
    size = world / n  # one tile, in radians

    def tile(x: float, y: float) -> tuple[int, int]:
        return int((x + math.pi) // size), int((math.pi - y) // size)

    left, top = tile(x0, y1)
    right, bottom = tile(x1 - 1e-12, y0 + 1e-12)
    tiles = []
    for tx in range(max(left, 0), min(right, n - 1) + 1):
        for ty in range(max(top, 0), min(bottom, n - 1) + 1):
            tiles.append({
                "href": template.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty)),
                "x": round((tx * size - math.pi - x0) * outline.scale, 2),
                "y": round((y1 - (math.pi - ty * size)) * outline.scale, 2),
                "size": round(size * outline.scale, 2),
            })
    return tiles


def classes(values: list[int]) -> list[int]:
    """Upper bounds of up to 5 quantile classes over the shown (non-null) values."""
    shown = sorted(v for v in values if v is not None)
    if not shown:
        return []
    bounds = []
    for i in range(1, len(PALETTE) + 1):
        b = shown[min(len(shown) - 1, math.ceil(i * len(shown) / len(PALETTE)) - 1)]
        if not bounds or b > bounds[-1]:
            bounds.append(b)
    return bounds


def colour(value: int | None, bounds: list[int], suppressed: bool = False) -> str:
    if suppressed:
        return SUPPRESSED
    if value is None or not bounds:
        return NO_DATA
    offset = len(PALETTE) - len(bounds)  # few distinct values use the darker end of the palette
    for i, b in enumerate(bounds):
        if value <= b:
            return PALETTE[offset + i]
    return PALETTE[-1]


def sparkline(values: list[int | None], width: int = 120, height: int = 28, label: str = "") -> str:
    """A tiny trend line; gaps (suppressed or missing rounds) break the line."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return ""
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span = (hi - lo) or 1
    step = (width - 4) / max(len(values) - 1, 1)
    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{2 + i * step:.1f},{height - 3 - (v - lo) / span * (height - 6):.1f}")
    if current:
        segments.append(current)
    lines = "".join(f'<polyline points="{" ".join(s)}"/>' for s in segments if len(s) > 1)
    last_x, last_y = current[-1].split(",") if current else (None, None)
    dot = f'<circle cx="{last_x}" cy="{last_y}" r="2.5"/>' if last_x else ""
    return (f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(label)}">{lines}{dot}</svg>')
