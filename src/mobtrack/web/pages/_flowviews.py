"""The flows page's pictures, drawn on the server as SVG: a flow map and a Sankey diagram.

Both take corridors that already went through mobtrack.web.services.flows (hidden ones have no value)
and draw only the shown ones: a hidden corridor never gets an arc or a band, so its size cannot be
read from a width. Geometry only; the template writes the SVG elements.

Where places are:
- countries: the crosswalk's Natural Earth centroids (`mobtrack/data/countries.csv`), drawn over the
  Natural Earth country outlines shipped for drawing (`_world`), or the gazetteer's own admin0
  boundaries for the countries it stores;
- admin units (p-codes, or `ISO3:admin1 name` from flow-monitoring surveys): the centroid of the
  unit's stored boundary (a point inside it when the centroid falls outside), over the stored
  boundaries of that level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import Connection, select

from mobtrack.gazetteer.names import name_key as normalise
from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.store.schema import location
from mobtrack.web.pages import _world as world
from mobtrack.web.pages._svg import WIDTH, mercator
from mobtrack.web.pages._svg import _path as path_data  # the same path writer as the dashboards' maps

MAX_STROKE = 14.0  # px at the largest corridor; widths are proportional to the value (linear)
MIN_STROKE = 1.0
PAD = 0.1  # margin around the places, as a share of the map's span (room for the labels)
LABEL_HEIGHT = 17.0  # Sankey: the least vertical room a node's label needs, in viewBox units


@dataclass
class Place:
    code: str
    name: str
    lon: float | None
    lat: float | None
    geometry: object | None = None  # stored boundary, when there is one


def _unit_point(geom) -> tuple[float, float]:
    c = geom.centroid
    if not geom.contains(c):  # a crescent-shaped unit: its centroid lies outside it
        c = geom.representative_point()
    return c.x, c.y


def _stored(conn: Connection, where) -> dict[str, tuple[str, object]]:
    """pcode -> (name, geometry) of stored units; the newest boundary version wins (as the dashboards)."""
    rows = conn.execute(select(location.c.pcode, location.c.name, location.c.geometry, location.c.country_iso3,
                               location.c.admin_level)
                        .where(where, location.c.geometry.is_not(None))
                        .order_by(location.c.boundary_version_id.desc(), location.c.pcode)).all()
    out: dict[str, tuple[str, object]] = {}
    for r in rows:
        out.setdefault(r.pcode, (r.name, shapely.from_wkb(r.geometry), r.country_iso3, r.admin_level))
    return out


def places(conn: Connection, codes: list[str], level: str) -> dict[str, Place]:
    """Where each origin or destination is (see the module docstring); lon/lat None when unknown."""
    out: dict[str, Place] = {}
    crosswalk = Crosswalk.default()
    if level == "country":
        stored = {v[2]: (k, v) for k, v in _stored(conn, location.c.admin_level == 0).items()
                  if v[2] in codes}
        for code in codes:
            lat, lon = crosswalk.point(code)
            geom = stored[code][1][1] if code in stored else None
            out[code] = Place(code, crosswalk.name(code), lon, lat, geom)
        return out
    admin = [c for c in codes if ":" in c]  # flow-monitoring surveys: ISO3:admin1 name
    pcodes = [c for c in codes if ":" not in c]
    if pcodes:
        found = _stored(conn, location.c.pcode.in_(pcodes))
        for code in pcodes:
            if code in found:
                name, geom = found[code][0], found[code][1]
                lon, lat = _unit_point(geom)
                out[code] = Place(code, name, lon, lat, geom)
            else:
                out[code] = Place(code, code, None, None)
    if admin:
        countries = sorted({c.split(":", 1)[0] for c in admin})
        units = _stored(conn, location.c.country_iso3.in_(countries) & (location.c.admin_level == 1))
        by_name = {(v[2], normalise(v[0])): (k, v) for k, v in units.items()}
        for code in admin:
            iso3, name = code.split(":", 1)
            hit = by_name.get((iso3, normalise(name)))
            if hit:
                lon, lat = _unit_point(hit[1][1])
                out[code] = Place(code, f"{name} ({crosswalk.name(iso3)})", lon, lat, hit[1][1])
            else:
                out[code] = Place(code, f"{name} ({crosswalk.name(iso3)})" if name != "?" else crosswalk.name(iso3),
                                  None, None)
    return out


def backdrop(conn: Connection, located: dict[str, Place], level: str) -> dict[str, tuple[str, object]]:
    """Boundaries drawn under the arcs: the stored units of the map's level in the countries shown."""
    if level == "country":
        # Natural Earth outlines around the places (see _world), the gazetteer's own boundaries where stored
        points = [(p.lon, p.lat) for p in located.values() if p.lon is not None]
        shapes = {}
        if points:
            lons, lats = [x for x, _ in points], [y for _, y in points]
            pad = max(max(lons) - min(lons), max(lats) - min(lats)) * 0.15 + 2
            shapes = world.within((min(lons) - pad, max(min(lats) - pad, -85), max(lons) + pad,
                                   min(max(lats) + pad, 85)))
        shapes.update({p.code: (p.name, p.geometry) for p in located.values() if p.geometry is not None})
        return shapes
    countries = sorted({str(v[2]) for v in _stored(conn, location.c.pcode.in_(
        [c for c in located if ":" not in c])).values()} | {c.split(":", 1)[0] for c in located if ":" in c})
    if not countries:
        return {}
    lvl = 1 if level == "1" else 2
    return {k: (v[0], v[1]) for k, v in _stored(conn, location.c.country_iso3.in_(countries)
                                                 & (location.c.admin_level == lvl)).items()}


def flow_map(corridors: list[dict], located: dict[str, Place], shapes: dict[str, tuple[str, object]]) -> dict:
    """Arcs (quadratic curves, bent to the left of travel so A->B and B->A stay apart) between the
    places, stroke width proportional to the value, over the boundaries, in one Mercator viewBox."""
    shown = [c for c in corridors if c["value"] is not None and c["value"] > 0]
    points = {k: p for k, p in located.items() if p.lon is not None}
    lons = [p.lon for p in points.values()]
    lats = [p.lat for p in points.values()]
    if shapes:
        minx, miny, maxx, maxy = shapely.total_bounds([g for _, g in shapes.values()])
        lons += [minx, maxx]
        lats += [miny, maxy]
    if not lons:
        return {"arcs": [], "shapes": [], "nodes": [], "width": WIDTH, "height": 0, "unplaced": sorted(located)}
    (x0, x1), (y1, y0) = mercator(np.array([min(lons), max(lons)]), np.array([max(lats), min(lats)]))
    span = max(x1 - x0, y1 - y0, math.radians(2))  # a single place still gets a readable frame
    x0, x1 = x0 - span * PAD, x1 + span * PAD
    y0, y1 = y0 - span * PAD, y1 + span * PAD
    scale = WIDTH / max(x1 - x0, 1e-9)
    height = int(round(min(max((y1 - y0) * scale, WIDTH * 0.35), WIDTH * 1.2)))
    # centre vertically when the frame was stretched to the minimum height
    yoff = (height - (y1 - y0) * scale) / 2

    def view(lon, lat):
        mx, my = mercator(np.asarray(lon, float), np.asarray(lat, float))
        return (mx - x0) * scale, (y1 - my) * scale + yoff

    def to_view(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(view(coords[:, 0], coords[:, 1]))

    drawn = []
    for code, (name, geom) in shapes.items():
        d = path_data(shapely.simplify(shapely.transform(geom, to_view), 0.5, preserve_topology=True))
        if d:
            drawn.append({"code": code, "name": name, "d": d})
    xy = {k: tuple(round(float(v), 1) for v in view(p.lon, p.lat)) for k, p in points.items()}
    top = max((c["value"] for c in shown), default=0) or 1
    arcs, unplaced = [], set()
    for c in sorted(shown, key=lambda c: -c["value"]):  # largest first, so smaller arcs stay on top
        a, b = xy.get(c["origin"]), xy.get(c["destination"])
        if a is None or b is None:
            unplaced |= {k for k, p in ((c["origin"], a), (c["destination"], b)) if p is None}
            continue
        if a == b:
            continue  # within one place (an internal corridor at country level): in the tables only
        dx, dy = b[0] - a[0], b[1] - a[1]
        bend = 0.22
        cx, cy = (a[0] + b[0]) / 2 + dy * bend, (a[1] + b[1]) / 2 - dx * bend
        width = MIN_STROKE + (MAX_STROKE - MIN_STROKE) * c["value"] / top
        arcs.append({**c, "d": f"M{a[0]:g} {a[1]:g}Q{cx:.1f} {cy:.1f} {b[0]:g} {b[1]:g}", "width": round(width, 2)})
    used = {c["origin"] for c in arcs} | {c["destination"] for c in arcs}
    nodes = [{"code": k, "name": points[k].name, "x": xy[k][0], "y": xy[k][1]} for k in sorted(used)]
    unplaced |= {k for k in located if k not in points}
    legend = [{"value": v, "width": round(MIN_STROKE + (MAX_STROKE - MIN_STROKE) * v / top, 2)} for v in (top, top / 2)]
    return {"arcs": arcs, "shapes": drawn, "nodes": nodes, "width": WIDTH, "height": height,
            "unplaced": sorted(unplaced), "max": top, "legend": legend}


def sankey(corridors: list[dict], names: dict[str, str], width: int = 800, gap: float = 8.0,
           node_width: float = 14.0, label_room: float = 235.0) -> dict:
    """Origins on the left, destinations on the right, each band as wide as its value; node heights are
    the sums of their shown bands. One scale for the whole diagram (px per person)."""
    shown = [c for c in corridors if c["value"] is not None and c["value"] > 0]
    if not shown:
        return {"bands": [], "left": [], "right": [], "width": width, "height": 0}
    def totals(side):
        out: dict[str, float] = {}
        for c in shown:
            out[c[side]] = out.get(c[side], 0) + c["value"]
        return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))
    left, right = totals("origin"), totals("destination")
    total = sum(c["value"] for c in shown)
    rows = max(len(left), len(right))
    usable = max(220.0, 24.0 * rows)  # room for the labels of the longer column
    k = usable / total
    x_left, x_right = label_room, width - label_room

    def stack(items):
        # Node heights stay proportional; only the gaps grow so that small nodes' labels do not overlap.
        y, out = 10.0, {}
        for code, value in items:
            name = names.get(code, code)
            out[code] = {"code": code, "name": name, "label": name if len(name) <= 24 else name[:23] + "…",
                         "value": value, "y": round(y, 2), "h": round(max(value * k, 1.0), 2)}
            y += max(max(value * k, 1.0) + gap, LABEL_HEIGHT)
        return out, y
    (lnodes, lend), (rnodes, rend) = stack(left), stack(right)
    height = max(lend, rend) + 10
    lnext = {c: n["y"] for c, n in lnodes.items()}
    rnext = {c: n["y"] for c, n in rnodes.items()}
    bands = []
    # bands leave each origin and enter each destination in a fixed order: largest first
    for c in sorted(shown, key=lambda c: (-c["value"], c["origin"], c["destination"])):
        h = c["value"] * k
        y0, y1 = lnext[c["origin"]], rnext[c["destination"]]
        lnext[c["origin"]] += h
        rnext[c["destination"]] += h
        xa, xb = x_left + node_width, x_right
        mid = (xa + xb) / 2
        d = (f"M{xa:g} {y0:.2f}C{mid:g} {y0:.2f} {mid:g} {y1:.2f} {xb:g} {y1:.2f}"
             f"L{xb:g} {y1 + h:.2f}C{mid:g} {y1 + h:.2f} {mid:g} {y0 + h:.2f} {xa:g} {y0 + h:.2f}Z")
        bands.append({**c, "d": d, "h": round(h, 2)})
    return {"bands": bands, "left": list(lnodes.values()), "right": list(rnodes.values()), "width": width,
            "height": round(height), "x_left": x_left, "x_right": x_right, "node_width": node_width}


def matrix(corridors: list[dict], size: int = 10) -> dict:
    """Rows = the largest origins, columns = the largest destinations (by shown value), cells from the
    corridors given (a hidden one stays hidden; a pair not in the list is empty)."""
    def biggest(side):
        total: dict[str, float] = {}
        for c in corridors:
            total[c[side]] = total.get(c[side], 0) + (c["value"] or 0)
        return [k for k, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))][:size]
    origins, destinations = biggest("origin"), biggest("destination")
    cells = {(c["origin"], c["destination"]): c for c in corridors}
    return {"origins": origins, "destinations": destinations,
            "rows": [[cells.get((o, d)) for d in destinations] for o in origins]}
