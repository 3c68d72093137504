"""Matching a list of names (and optional parents) at one admin level: what `mobtrack match` does.

The gazetteer comes from the database when it holds an official version for the country, else
straight from the OCHA list shipped with the package, so matching works before any `init`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from mobtrack.gazetteer.catalogue import CountryGazetteer, from_units, official
from mobtrack.gazetteer.load import bundled_units
from mobtrack.gazetteer.match import Match, match_place
from mobtrack.gazetteer.pcodes import clean_code


class NoGazetteer(ValueError):
    """The country or level cannot be matched (no gazetteer for it)."""


_BUNDLED: dict[str, CountryGazetteer] = {}


def gazetteer_for(iso3: str, conn: Connection | None = None) -> CountryGazetteer:
    iso3 = iso3.upper()
    if conn is not None:
        gaz = official(conn, iso3)
        if gaz.versions:
            return gaz
    if iso3 not in _BUNDLED:
        _BUNDLED[iso3] = from_units(iso3, bundled_units())
    gaz = _BUNDLED[iso3]
    if not gaz.levels:
        raise NoGazetteer(f"no gazetteer for {iso3}: the OCHA list has no such country; "
                           "load its COD with `mobtrack gazetteer load`")
    return gaz


def resolve_parent(gaz: CountryGazetteer, level: int, value: str | None, day: date | None) -> Match | None:
    """A parent given as a p-code or as a name, at the level above."""
    if value is None or not str(value).strip():
        return None
    if level == 0:
        return Match(gaz.iso3, None, gaz.iso3, "exact-code", 100.0, "matched")
    view = gaz.level(level, day)
    if view is None:
        return None
    code = clean_code(value)
    if code and (code in view.units or view.codes.rewrite(code).pcode):
        return match_place(gaz, view, code, None, None)
    return match_place(gaz, view, None, str(value), None)


def match_names(gaz: CountryGazetteer, level: int, names: list[str | None], parents: list[str | None] | None = None,
                *, day: date | None = None, aliases: dict | None = None) -> list[dict]:
    """One result per input name: input, parent, pcode (null unless accepted), name, method, score, status."""
    view = gaz.level(level, day)
    if view is None:
        raise NoGazetteer(f"no admin{level} gazetteer for {gaz.iso3} (levels: {sorted(gaz.levels) or 'none'})")
    parents = parents or [None] * len(names)
    parent_cache: dict = {}
    memo: dict = {}
    out = []
    for raw, parent_raw in zip(names, parents, strict=True):
        if parent_raw not in parent_cache:
            parent_cache[parent_raw] = resolve_parent(gaz, level - 1, parent_raw, day)
        parent_match = parent_cache[parent_raw]
        parent = parent_match.pcode if parent_match is not None and parent_match.accepted else None
        key = (raw, parent)
        if key not in memo:
            # a p-code in the name column (possibly in another convention: NG01 for NG001) is read as one
            code = clean_code(raw)
            by_code = code if code and (code in view.units or view.codes.rewrite(code).pcode) else None
            memo[key] = match_place(gaz, view, by_code, None if by_code else raw, parent, aliases) if raw else \
                Match(status="unmatched", detail="empty name")
        m = memo[key]
        row = {"input": raw, "pcode": m.pcode if m.accepted else None, "name": m.name if m.accepted else None,
               "method": m.method, "score": m.score, "status": m.status, "detail": m.detail,
               "candidates": m.candidates}
        if parents is not None and parent_raw is not None:
            row["parent_input"] = parent_raw
            row["parent_pcode"] = parent
            if parent is None:
                row["detail"] = f"parent {parent_raw!r} not resolved; matched on the whole level" + (
                    f"; {m.detail}" if m.detail else "")
        out.append(row)
    return out
