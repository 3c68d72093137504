"""Places the source defines itself, and review items, written inside the caller's transaction.

Sites, villages and admin levels for which no gazetteer is loaded (admin3 wards when only the
admin1-2 list is there) are still places: they get a location in a per-country
"source-defined" boundary version, keyed by the source's own code, or by a code made from the
parent p-code and the name when the source gives none. Written in the import's transaction,
they vanish with it if the import is refused.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from mobtrack.gazetteer.load import SOURCE_DEFINED_NAME
from mobtrack.gazetteer.match import Match
from mobtrack.gazetteer.names import name_key
from mobtrack.gazetteer.pcodes import clean_code
from mobtrack.model.records import SITE_LEVEL
from mobtrack.store.schema import boundary_version, location, match_review


def generated_code(parent: str | None, name: str) -> str:
    """A stable code for a place the source names but does not code: PARENT~namekey."""
    key = name_key(name) or hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:12]
    code = f"{parent or ''}~{key}"
    if len(code) > 64:
        code = f"{parent or ''}~{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]}"
    return code


def source_place(level: int, code: str | None, name: str | None, parent: str | None, *, kind: str = "admin",
                 site_type: str | None = None, latitude: float | None = None,
                 longitude: float | None = None) -> Match:
    pcode = clean_code(code) or generated_code(parent, name or "")
    label = (name or "").strip() or pcode
    return Match(pcode, None, label, "source", None, "matched", "source-defined place", new_place={
        "admin_level": level, "pcode": pcode, "name": label[:300], "parent_pcode": parent, "kind": kind,
        "site_type": site_type, "latitude": latitude, "longitude": longitude})


def site_place(place: dict, parent: str | None) -> Match:
    """A site or village (level 5): always source-defined, under the deepest admin unit resolved."""
    if not (place.get("site_code") or place.get("site_name")):
        return Match(status="unmatched", detail="site row without site code or name")
    return source_place(SITE_LEVEL, place.get("site_code"), place.get("site_name"), parent, kind="site",
                        site_type=place.get("site_type"), latitude=place.get("latitude"),
                        longitude=place.get("longitude"))


def source_version_id(conn: Connection, iso3: str) -> int:
    found = conn.execute(select(boundary_version.c.id).where(
        boundary_version.c.country_iso3 == iso3, boundary_version.c.name == SOURCE_DEFINED_NAME)).scalar()
    if found is not None:
        return found
    return conn.execute(insert(boundary_version).values(
        country_iso3=iso3, name=SOURCE_DEFINED_NAME, source="places defined by imported files",
        loaded_at=datetime.now(UTC)).returning(boundary_version.c.id)).scalar_one()


def ensure_places(conn: Connection, iso3: str, matches: list[Match]) -> dict[tuple[int, str], int]:
    """Location ids of the source-defined places, creating the missing ones: {(level, pcode): id}."""
    if not matches:
        return {}
    vid = source_version_id(conn, iso3)

    def stored() -> dict[str, tuple[int, int]]:
        rows = conn.execute(select(location.c.pcode, location.c.admin_level, location.c.id)
                            .where(location.c.boundary_version_id == vid)).all()
        return {r.pcode: (r.admin_level, r.id) for r in rows}

    have = stored()
    wanted: dict[str, dict] = {}
    for m in matches:
        if m.pcode not in have:
            wanted.setdefault(m.pcode, m.new_place)
    if wanted:
        conn.execute(insert(location), [{**p, "country_iso3": iso3, "boundary_version_id": vid,
                                         "names": {"source": p["name"]}} for p in wanted.values()])
        have = stored()
    # A code the source uses at two levels keeps the level it was first created at.
    return {(m.new_place["admin_level"], m.pcode): have[m.pcode][1] for m in matches if m.pcode in have}


def write_reviews(conn: Connection, iso3: str, source_file_id: int | None, items: list[dict]) -> list[dict]:
    """Add review items not already open for this file; returns the ones written."""
    if not items:
        return []
    unique: dict[tuple, dict] = {}
    for item in items:
        unique.setdefault((item["admin_level"], item["input_name"], item["input_code"], item["parent_pcode"]), item)
    query = select(match_review.c.admin_level, match_review.c.input_name, match_review.c.input_code,
                   match_review.c.parent_pcode).where(match_review.c.country_iso3 == iso3,
                                                      match_review.c.status == "open")
    query = query.where(match_review.c.source_file_id == source_file_id) if source_file_id is not None \
        else query.where(match_review.c.source_file_id.is_(None))
    existing = {tuple(r) for r in conn.execute(query).all()}
    fresh = [{"source_file_id": source_file_id, "country_iso3": iso3, "admin_level": i["admin_level"],
              "input_name": (i["input_name"] or None) and str(i["input_name"])[:300],
              "input_code": (i["input_code"] or None) and str(i["input_code"])[:64],
              "parent_pcode": i["parent_pcode"], "candidates": i["candidates"], "reason": i["reason"],
              "status": "open"}
             for k, i in unique.items() if k not in existing]
    if fresh:
        conn.execute(insert(match_review), fresh)
    return fresh
