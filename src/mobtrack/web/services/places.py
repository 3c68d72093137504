"""Locations as GeoJSON, with the boundaries simplified on the server for slow links.

Simplification levels: `full` (as stored), `medium` and `low` (Douglas-Peucker tolerances in degrees,
topology kept), so a phone on 2G gets an admin2 map of a country in tens of kilobytes.
"""

from __future__ import annotations

from shapely import wkb
from shapely.geometry import mapping
from sqlalchemy import Connection, select

from mobtrack.store.schema import location
from mobtrack.web.errors import ApiError
from mobtrack.web.services.cache import LRU

TOLERANCE = {"full": 0.0, "medium": 0.005, "low": 0.02}
COORDINATE_DECIMALS = {"full": 6, "medium": 4, "low": 3}
_CACHE: LRU[dict] = LRU(32)


def _round(coords, digits: int):
    if isinstance(coords, (float, int)):
        return round(coords, digits)
    return [_round(c, digits) for c in coords]


def geojson(conn: Connection, country_iso3: str, level: int, simplify: str = "medium",
            pcodes: list[str] | None = None, site_decimals: int = 2) -> dict:
    """A FeatureCollection of the country's places at `level` (properties: pcode, name, level, parent).

    Sites (level 5) are points, rounded to `site_decimals` decimal degrees (0.01 deg ~ 1 km) because an
    exact site position can identify a household.
    """
    if simplify not in TOLERANCE:
        raise ApiError(400, f"simplify must be one of {', '.join(TOLERANCE)}")
    key = (str(conn.engine.url), country_iso3.upper(), level, simplify, tuple(pcodes or ()), site_decimals,
           conn.execute(select(location.c.id).order_by(location.c.id.desc()).limit(1)).scalar())
    return _CACHE.get(key, lambda: _feature_collection(conn, country_iso3, level, simplify, pcodes, site_decimals))


def _feature_collection(conn: Connection, country_iso3: str, level: int, simplify: str, pcodes: list[str] | None,
                        site_decimals: int) -> dict:
    query = (select(location.c.pcode, location.c.name, location.c.names, location.c.admin_level,
                    location.c.parent_pcode, location.c.kind, location.c.latitude, location.c.longitude,
                    location.c.geometry)
             .where(location.c.country_iso3 == country_iso3.upper(), location.c.admin_level == level)
             .where(location.c.valid_to.is_(None)).order_by(location.c.pcode))
    if pcodes:
        query = query.where(location.c.pcode.in_(pcodes))
    features = []
    for r in conn.execute(query).mappings():
        geometry = None
        if r["geometry"] is not None and level < 5:
            shape = wkb.loads(bytes(r["geometry"]))
            if TOLERANCE[simplify]:
                shape = shape.simplify(TOLERANCE[simplify], preserve_topology=True)
            geometry = mapping(shape)
            geometry = {"type": geometry["type"], "coordinates": _round(geometry["coordinates"],
                                                                        COORDINATE_DECIMALS[simplify])}
        elif r["latitude"] is not None and r["longitude"] is not None:
            geometry = {"type": "Point", "coordinates": [round(r["longitude"], site_decimals),
                                                         round(r["latitude"], site_decimals)]}
        features.append({"type": "Feature", "id": r["pcode"], "geometry": geometry,
                         "properties": {"pcode": r["pcode"], "name": r["name"], "names": r["names"] or {},
                                        "level": r["admin_level"], "parent_pcode": r["parent_pcode"],
                                        "kind": r["kind"]}})
    return {"type": "FeatureCollection", "features": features}
