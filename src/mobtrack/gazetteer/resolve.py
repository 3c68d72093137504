"""Resolving the places of a batch of canonical records (the contract in gazetteer/__init__.py).

A round has up to 10^5 rows but a few thousand distinct places, and the same places come back
every round. So we work on distinct place tuples, remember each decision per country and
gazetteer state (memo), and join the decisions back onto the rows with Polars: a round whose
places are all known costs a `unique`, a dictionary lookup per place and a join.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import Connection

from mobtrack.gazetteer import sourced
from mobtrack.gazetteer.aliases import alias_map
from mobtrack.gazetteer.catalogue import CountryGazetteer, official
from mobtrack.gazetteer.load import load_bundled
from mobtrack.gazetteer.match import Finding, Match, match_place
from mobtrack.gazetteer.names import name_key
from mobtrack.gazetteer.swaps import detect_swaps
from mobtrack.model.records import SITE_LEVEL
from mobtrack.model.vocab import Severity
from mobtrack.validate import MATCH_COLUMNS, Issue

ADMIN_LEVELS = (1, 2, 3, 4)
PLACE_COLUMNS = ["admin_level", *[f"adm{i}_{k}" for i in ADMIN_LEVELS for k in ("pcode", "name")],
                 "site_code", "site_name"]
SITE_EXTRAS = ["site_type", "latitude", "longitude"]
OUT_SCHEMA = {**MATCH_COLUMNS, "location_id": pl.Int64}


@dataclass
class Resolution:
    records: pl.DataFrame  # the input records + MATCH_COLUMNS + location_id
    issues: list[Issue] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)  # match_review rows written by this call


@dataclass
class PlaceDecision:
    match: Match
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (column, finding)
    reviews: list[dict] = field(default_factory=list)  # review items of this place's levels


_MEMO: dict[tuple, dict[tuple, PlaceDecision]] = {}


def resolve_places(conn: Connection, records: pl.DataFrame, *, country_iso3: str, reporting_date: date | None,
                   source_file_id: int | None, file_name: str) -> Resolution:
    iso3 = country_iso3.upper()
    gaz = official(conn, iso3)
    if not gaz.versions and load_bundled(conn, [iso3]):
        gaz = official(conn, iso3)  # a database nobody initialised: bring in the bundled list for this country
    aliases, alias_stamp = alias_map(conn, iso3)
    views = {lvl: gaz.level(lvl, reporting_date) for lvl in (0, *ADMIN_LEVELS)}
    places = records.select(PLACE_COLUMNS + SITE_EXTRAS).unique(subset=PLACE_COLUMNS, keep="first")
    swaps, swap_issues = detect_swaps(places, views, file_name)
    memo_key = (str(conn.engine.url), iso3, tuple((v.id, str(v.loaded_at)) for v in gaz.versions),
                tuple(None if v is None else v.version.id for v in views.values()), alias_stamp, tuple(sorted(swaps)))
    memo = _MEMO.setdefault(memo_key, {})
    if len(_MEMO) > 64:
        _MEMO.clear()
        memo = _MEMO.setdefault(memo_key, {})
    level_memo: dict = memo.setdefault("__levels__", {})  # type: ignore[arg-type]

    decisions: list[PlaceDecision] = []
    for place in places.iter_rows(named=True):
        key = tuple(place[c] for c in PLACE_COLUMNS)
        decision = memo.get(key)
        if decision is None:
            decision = _decide(gaz, views, iso3, place, swaps, aliases, level_memo)
            memo[key] = decision
        decisions.append(decision)

    ids = sourced.ensure_places(conn, iso3, [d.match for d in decisions if d.match.new_place is not None])
    table = places.select(PLACE_COLUMNS).with_columns(
        pl.Series("location_pcode", [d.match.pcode if d.match.accepted else None for d in decisions], pl.String),
        pl.Series("match_method", [d.match.method for d in decisions], pl.String),
        pl.Series("match_score", [d.match.score for d in decisions], pl.Float64),
        pl.Series("match_status", [d.match.status for d in decisions], pl.String),
        pl.Series("match_detail", [d.match.detail for d in decisions], pl.String),
        pl.Series("location_id", [_location_id(d.match, ids) for d in decisions], pl.Int64),
        pl.Series("_place", range(len(decisions)), pl.Int64),
    )
    base = records.drop([c for c in OUT_SCHEMA if c in records.columns])
    joined = base.with_row_index("_row").join(table, on=PLACE_COLUMNS, how="left", nulls_equal=True).sort("_row")
    issues = swap_issues + _row_issues(joined, decisions, file_name)
    reviews = sourced.write_reviews(conn, iso3, source_file_id, [r for d in decisions for r in d.reviews])
    out = joined.drop("_row", "_place")
    return Resolution(out.select([*base.columns, *OUT_SCHEMA]), issues, reviews)


def _location_id(m: Match, ids: dict) -> int | None:
    if not m.accepted:
        return None
    if m.new_place is not None:
        return ids.get((m.new_place["admin_level"], m.pcode))
    return m.location_id


def _level_of(place: dict) -> int | None:
    if place["admin_level"] is not None:
        return int(place["admin_level"])
    if place["site_code"] or place["site_name"]:
        return SITE_LEVEL
    given = [lvl for lvl in ADMIN_LEVELS if place[f"adm{lvl}_pcode"] or place[f"adm{lvl}_name"]]
    return given[-1] if given else 0


def _decide(gaz: CountryGazetteer, views: dict, iso3: str, place: dict, swaps: set[int], aliases: dict,
            level_memo: dict) -> PlaceDecision:
    level = _level_of(place)
    if level == 0:
        return PlaceDecision(_country(views[0], iso3))
    parent: str | None = iso3
    out = PlaceDecision(Match(status="unmatched", detail=f"no admin{level} code or name"))
    for lvl in ADMIN_LEVELS:
        if lvl > level:
            break
        code_col, name_col = f"adm{lvl}_pcode", f"adm{lvl}_name"
        if lvl in swaps:
            code_col, name_col = name_col, code_col
        code, name = place[code_col], place[name_col]
        if code is None and name is None:
            continue
        view = views[lvl]
        if view is None:
            m = sourced.source_place(lvl, code, name, parent)
        else:
            memo_key = (lvl, code, name, parent)
            m = level_memo.get(memo_key)
            if m is None:
                m = level_memo[memo_key] = match_place(gaz, view, code, name, parent, aliases)
        out.findings.extend((code_col if f.field == "code" else name_col, f) for f in m.findings)
        if view is not None and not m.accepted and (name or code):
            out.reviews.append({"admin_level": lvl, "input_name": name, "input_code": code, "parent_pcode": parent,
                                "candidates": m.candidates, "reason": m.detail,
                                "name_key": name_key(name) if name else None})
        if lvl == level:
            out.match = m
        if m.accepted:
            parent = m.pcode
    if level == SITE_LEVEL:
        out.match = sourced.site_place(place, parent)
    return out


def _country(view, iso3: str) -> Match:
    unit = view.units.get(iso3) if view is not None else None
    if unit is not None:
        return Match(iso3, unit.id, unit.name, "exact-code", 100.0, "matched")
    return sourced.source_place(0, iso3, iso3, None)


def _row_issues(joined: pl.DataFrame, decisions: list[PlaceDecision], file_name: str) -> list[Issue]:
    flagged = [i for i, d in enumerate(decisions) if d.findings or not d.match.accepted]
    if not flagged:
        return []
    rows = joined.filter(pl.col("_place").is_in(flagged)).select("_place", "source_sheet", "source_row")
    issues: list[Issue] = []
    for place_index, sheet, row in rows.iter_rows():
        d = decisions[place_index]
        for column, f in d.findings:
            issues.append(Issue(Severity(f.severity), f.rule, f.message, file_name, sheet, row, column, f.value))
        m = d.match
        if not m.accepted and not any(f.severity == "error" for _, f in d.findings):
            issues.append(Issue(Severity.ERROR, "place-needs-review",
                                f"place not resolved ({m.status}): {m.detail or 'no match'}", file_name, sheet, row,
                                None, None))
    return issues
