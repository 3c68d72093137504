"""Operations and rounds as a caller may see them: published ones for everybody, the rest within scope."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, bindparam, case, func, select, true

from mobtrack.analytics import RoundFilter, current_rounds
from mobtrack.store.places import stamp_query as places_stamp_query
from mobtrack.store.schema import operation, round_, round_version, source_file
from mobtrack.web.errors import ApiError
from mobtrack.web.services.cache import LRU
from mobtrack.web.services.principal import READ_UNPROTECTED, READ_UNPUBLISHED, Principal


@dataclass(frozen=True)
class View:
    """What one request may see of one operation."""

    operation: str
    country_iso3: str
    unpublished: bool  # may see rounds that are not published
    unprotected: bool  # sees raw figures (a sensitive read, audited) rather than suppressed ones


def view_of(principal: Principal, op_name: str, country: str, protected: bool | None = None) -> View:
    unprotected = principal.can(READ_UNPROTECTED, op_name, country) and protected is not True
    if protected is False and not unprotected:
        raise ApiError(403, "unprotected figures need the analyst, manager or admin role on this operation")
    return View(op_name, country, principal.can(READ_UNPUBLISHED, op_name, country), unprotected)


def operations(conn: Connection, principal: Principal) -> list[dict]:
    """Operations with at least one round the caller may see, with their round counts."""
    rows = conn.execute(
        select(operation.c.id, operation.c.name, operation.c.country_iso3, operation.c.status,
               round_.c.status.label("round_status"), func.count(round_.c.id).label("n"),
               func.max(round_version.c.reporting_date).label("latest"))
        .join(round_, round_.c.operation_id == operation.c.id)
        .join(round_version, round_version.c.id == round_.c.current_version_id)
        .group_by(operation.c.id, operation.c.name, operation.c.country_iso3, operation.c.status, round_.c.status)
    ).mappings().all()
    out: dict[int, dict] = {}
    for r in rows:
        if r["round_status"] != "published" and not principal.can(READ_UNPUBLISHED, r["name"], r["country_iso3"]):
            continue
        entry = out.setdefault(r["id"], {"id": r["id"], "name": r["name"], "country_iso3": r["country_iso3"],
                                         "status": r["status"], "rounds": 0, "published_rounds": 0,
                                         "latest_reporting_date": None})
        entry["rounds"] += r["n"]
        if r["round_status"] == "published":
            entry["published_rounds"] += r["n"]
        if r["latest"] and (entry["latest_reporting_date"] is None or r["latest"] > entry["latest_reporting_date"]):
            entry["latest_reporting_date"] = r["latest"]
    return sorted(out.values(), key=lambda e: e["name"])


# One statement per request: the operation and whether it has a published round. Built once (building
# and hashing a statement costs more than the database's answer to it).
_FOUND = select(operation.c.id, operation.c.name, operation.c.country_iso3, operation.c.status,
                select(round_.c.id).where(round_.c.operation_id == operation.c.id, round_.c.status == "published")
                .exists().label("_published"))
_BY_ID = _FOUND.where(operation.c.id == bindparam("ident"))
_BY_NAME = _FOUND.where(operation.c.name == bindparam("ident"))


def find_operation(conn: Connection, principal: Principal, ident: str | int) -> dict:
    """By id or name; an operation the caller may not see is 'not found' (no existence leak)."""
    # An id is a whole number the INTEGER column can hold; isdigit() alone let "¹" and 2**64 through (a 500).
    text = str(ident)
    is_id = text.isdecimal() and len(text) <= 10 and int(text) <= 2**31 - 1
    row = conn.execute(_BY_ID if is_id else _BY_NAME, {"ident": int(text) if is_id else text}).mappings().first()
    if row is None:
        raise ApiError(404, f"operation {ident!r} not found")
    if not (row["_published"] or principal.can(READ_UNPUBLISHED, row["name"], row["country_iso3"])):
        raise ApiError(404, f"operation {ident!r} not found")
    return {k: v for k, v in row.items() if k != "_published"}


_ROUNDS: LRU[pl.DataFrame] = LRU(512)


def _count(status: str):
    return func.sum(case((round_.c.status == status, 1), else_=0))


_STAMP = select(func.count(round_.c.id), func.max(round_.c.current_version_id), func.max(round_.c.published_at),
                _count("published"), _count("validated"))


def stamp(conn: Connection) -> tuple:
    """Changes whenever a round is imported, corrected, validated, published or withdrawn.

    Read afresh on every call (one aggregate over the round table, no time-to-live), so what is kept
    under it is never stale, whichever process changed the store.
    """
    return tuple(conn.execute(_STAMP).one())


def _both_stamps():
    of_rounds, of_places = _STAMP.subquery(), places_stamp_query(bindparam("country")).subquery()
    return select(*of_rounds.c, *of_places.c).select_from(of_rounds.join(of_places, true()))


_STAMP_WIDTH = len(_STAMP.selected_columns)
_STAMPS = _both_stamps()


def stamps(conn: Connection, country_iso3: str) -> tuple[tuple, tuple]:
    """`stamp` and `places.stamp` of a country, read in one statement (one round trip per request)."""
    row = tuple(conn.execute(_STAMPS, {"country": country_iso3}).one())
    return row[:_STAMP_WIDTH], row[_STAMP_WIDTH:]


def rounds(conn: Connection, view: View, assessment_type: str | None = None,
           stamp_: tuple | None = None) -> pl.DataFrame:
    """The rounds of the view's operation it may see, with provenance (file, version, period).

    Kept per view and store stamp: a request for one round reads one aggregate row here, not the
    operation's whole round list with its files and periods. `stamp_`: the store's `stamp`, when the
    caller has just read it."""
    key = (str(conn.engine.url), view.operation, view.unpublished, assessment_type,
           stamp(conn) if stamp_ is None else stamp_)
    return _ROUNDS.get(key, lambda: _rounds(conn, view, assessment_type))


def _rounds(conn: Connection, view: View, assessment_type: str | None) -> pl.DataFrame:
    frame = current_rounds(conn, RoundFilter(operation=view.operation, assessment_type=assessment_type,
                                             published_only=not view.unpublished))
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.String).alias("source_file"), pl.lit(None, pl.Date).alias(
            "period_start"), pl.lit(None, pl.Date).alias("period_end"), pl.lit(None).alias("published_at"))
    extra = conn.execute(
        select(round_version.c.id.label("version_id"), source_file.c.name.label("source_file"),
               round_version.c.period_start, round_version.c.period_end, round_.c.published_at)
        .join(source_file, source_file.c.id == round_version.c.source_file_id)
        .join(round_, round_.c.current_version_id == round_version.c.id)
        .where(round_version.c.id.in_(frame["version_id"].to_list()))
    ).all()
    meta = pl.DataFrame([r._asdict() for r in extra], schema={
        "version_id": pl.Int64, "source_file": pl.String, "period_start": pl.Date, "period_end": pl.Date,
        "published_at": pl.Datetime(time_zone="UTC")}, orient="row")
    return frame.join(meta, on="version_id", how="left").sort(["assessment_type", "round"])


def pick_round(frame: pl.DataFrame, number: int | None, latest: bool, assessment_type: str | None) -> pl.DataFrame:
    """Narrow the visible rounds to the one asked for (or the latest); 404 when it is not visible."""
    if assessment_type:
        frame = frame.filter(pl.col("assessment_type") == assessment_type.upper())
    if number is not None:
        # the rows by position (a polars filter builds a query: a fifth of a millisecond per request)
        at = [i for i, n in enumerate(frame["round"].to_list()) if n == number]
        # one row (the usual case) as a zero-copy slice: gathering rows by index costs more
        frame = frame.slice(at[0], 1) if len(at) == 1 else frame[pl.Series(at, dtype=pl.UInt32)]
        if frame.is_empty():
            raise ApiError(404, f"round {number} not found (or not published)")
    elif latest and frame.height:
        frame = frame.sort(["reporting_date", "round"], nulls_last=False).tail(1)
    if number is not None and len(set(frame["assessment_type"].to_list())) > 1:
        kinds = ", ".join(frame["assessment_type"].to_list())
        raise ApiError(400, f"round {number} exists for several assessment types ({kinds}): add assessment_type")
    return frame


def etag(frame: pl.DataFrame, *parts) -> str | None:
    """An ETag for a response built only from published round versions (they never change)."""
    if frame.is_empty() or (frame["status"] != "published").any():
        return None
    import hashlib

    h = hashlib.sha256()
    for vid, digest in zip(frame["version_id"].to_list(), frame["content_hash"].to_list(), strict=True):
        h.update(f"{vid}:{digest};".encode())
    h.update(repr(parts).encode())
    return f'"{h.hexdigest()[:32]}"'
