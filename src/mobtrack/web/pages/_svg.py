"""Maps and small charts drawn on the server as SVG: no tiles, no map library, a few kilobytes per view.

Why server-side: the stored boundaries (location.geometry, WKB) are simplified once per country and level
and projected into a fixed viewBox, so the first view of a dashboard is one HTML response that works
without JavaScript and on a slow link. The browser only adds interaction (mobtrack.js).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

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
    result = _project(seen)
    if len(_OUTLINES) > 32:
        _OUTLINES.clear()
    _OUTLINES[key] = result
    return result


def _project(shapes: dict[str, tuple[str, object]]) -> Outline:
    if not shapes:
        return Outline([], 0)
    geoms = list(g for _, g in shapes.values())
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    # Equirectangular with the x scale shrunk by cos(latitude): right enough at country scale.
    kx = math.cos(math.radians((miny + maxy) / 2))
    span_x = max((maxx - minx) * kx, 1e-9)
    scale = WIDTH / span_x
    height = max(int(round((maxy - miny) * scale)), 1)
    # Simplify to about half a viewBox unit: finer detail is invisible and only adds bytes.
    tolerance = 0.5 / scale
    out = []
    for pcode, (name, geom) in shapes.items():
        simple = shapely.simplify(geom, tolerance, preserve_topology=True)
        d = _path(simple, minx, maxy, kx, scale)
        if d:
            out.append(Shape(pcode, name, d))
    return Outline(out, height)


def _path(geom, minx: float, maxy: float, kx: float, scale: float) -> str:
    parts = []
    polygons = getattr(geom, "geoms", [geom])
    for poly in polygons:
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            coords = [(round((x - minx) * kx * scale, 1), round((maxy - y) * scale, 1)) for x, y in ring.coords]
            if len(coords) < 4:
                continue
            parts.append("M" + "L".join(f"{x:g} {y:g}" for x, y in coords[:-1]) + "Z")
    return "".join(parts)


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
