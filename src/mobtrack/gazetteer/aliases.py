"""Review decisions: a person settles a doubtful match once, and every later import reuses it.

Accepting a review item records a place_alias (country, level, parent, name key) -> p-code;
rejecting it records the alias with no p-code ("no such place"), so the same name stops being
asked about. The matcher consults aliases before any name rule (match.match_name).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, update

from mobtrack.gazetteer.names import name_key
from mobtrack.store.schema import match_review, place_alias


class ReviewError(ValueError):
    """A review decision that cannot be applied (unknown item, p-code not in the gazetteer...)."""


def alias_map(conn: Connection, iso3: str) -> tuple[dict, tuple]:
    """{(level, parent_pcode, name_key): pcode or None} for a country, and a stamp that changes with it."""
    rows = conn.execute(select(place_alias.c.id, place_alias.c.admin_level, place_alias.c.parent_pcode,
                               place_alias.c.name_key, place_alias.c.pcode)
                        .where(place_alias.c.country_iso3 == iso3)).all()
    mapping = {(r.admin_level, r.parent_pcode, r.name_key): r.pcode for r in rows}
    return mapping, tuple(sorted((r.id, r.pcode or "") for r in rows))


def record_alias(conn: Connection, iso3: str, level: int, parent_pcode: str | None, name: str,
                 pcode: str | None, decided_by: str | None) -> None:
    key = name_key(name) if not name.startswith("#") else name
    if not key:
        raise ReviewError(f"{name!r} has no letters or digits to remember it by")
    now = datetime.now(UTC)
    where = (place_alias.c.country_iso3 == iso3, place_alias.c.admin_level == level,
             place_alias.c.name_key == key,
             place_alias.c.parent_pcode.is_(None) if parent_pcode is None else place_alias.c.parent_pcode == parent_pcode)
    from mobtrack.gazetteer.catalogue import bump

    bump()  # resolvers in this process must see the decision, even inside the same transaction
    found = conn.execute(select(place_alias.c.id).where(*where)).scalar()
    if found is None:
        conn.execute(insert(place_alias).values(country_iso3=iso3, admin_level=level, parent_pcode=parent_pcode,
                                                name_key=key, pcode=pcode, decided_by=decided_by, decided_at=now))
    else:
        conn.execute(update(place_alias).where(place_alias.c.id == found)
                     .values(pcode=pcode, decided_by=decided_by, decided_at=now))


def decide(conn: Connection, review_id: int, pcode: str | None, decided_by: str | None = None) -> dict:
    """Accept a review item with a p-code (or reject it with None) and remember the decision."""
    from mobtrack.store.schema import location

    item = conn.execute(select(match_review).where(match_review.c.id == review_id)).mappings().first()
    if item is None:
        raise ReviewError(f"no review item {review_id}")
    from mobtrack.gazetteer.match import code_alias_key

    if not item["input_name"] and not item["input_code"]:
        raise ReviewError(f"review item {review_id} has neither a name nor a code")
    if pcode is not None:
        known = conn.execute(select(func.count()).select_from(location).where(
            location.c.country_iso3 == item["country_iso3"], location.c.pcode == pcode,
            location.c.admin_level == item["admin_level"])).scalar()
        if not known:
            raise ReviewError(f"{pcode} is not an admin{item['admin_level']} p-code of {item['country_iso3']}")
    # A name is remembered by its key; a bare code (no name given) by the code itself.
    asked = item["input_name"] or code_alias_key(item["input_code"])
    record_alias(conn, item["country_iso3"], item["admin_level"], item["parent_pcode"], asked, pcode, decided_by)
    status = "accepted" if pcode else "rejected"
    # Every open item asking the same question is settled by the same decision.
    same = (match_review.c.country_iso3 == item["country_iso3"], match_review.c.admin_level == item["admin_level"],
            match_review.c.status == "open",
            match_review.c.input_name == item["input_name"] if item["input_name"]
            else match_review.c.input_code == item["input_code"],
            match_review.c.parent_pcode.is_(None) if item["parent_pcode"] is None
            else match_review.c.parent_pcode == item["parent_pcode"])
    settled = conn.execute(update(match_review).where(*same).values(
        status=status, chosen_pcode=pcode, decided_by=decided_by, decided_at=datetime.now(UTC))).rowcount
    return {"review": review_id, "status": status, "pcode": pcode, "settled": settled}


def open_reviews(conn: Connection, iso3: str | None = None, limit: int = 500) -> list[dict]:
    query = select(match_review).where(match_review.c.status == "open").order_by(match_review.c.id).limit(limit)
    if iso3:
        query = query.where(match_review.c.country_iso3 == iso3.upper())
    return [dict(r) for r in conn.execute(query).mappings()]
