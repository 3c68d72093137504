"""Resolving the places of a batch of canonical records (the contract in gazetteer/__init__.py).

A round has up to 10^5 rows but a few thousand distinct places, and the same places come back
every round. So we work on distinct place tuples, remember each decision per country and
gazetteer state (memo), and join the decisions back onto the rows with Polars: a round whose
places are all known costs a `unique`, an anti-join against the memo and a join
(bench/matching_resolve.py).
"""

from __future__ import annotations

import bisect
import weakref
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import polars as pl
from sqlalchemy import Connection, select

from mobtrack.gazetteer import sourced
from mobtrack.gazetteer.aliases import alias_map
from mobtrack.gazetteer.catalogue import CountryGazetteer, generation, official
from mobtrack.gazetteer.load import SOURCE_DEFINED_NAME, load_bundled
from mobtrack.gazetteer.match import Finding, Match, match_place
from mobtrack.gazetteer.names import name_key
from mobtrack.gazetteer.swaps import detect_swaps
from mobtrack.model.records import SITE_LEVEL
from mobtrack.model.vocab import Severity
from mobtrack.store.schema import boundary_version
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


@dataclass
class _Memo:
    """Decisions for one country and gazetteer state: a frame to join on, and the decisions behind it."""

    decisions: list[PlaceDecision] = field(default_factory=list)
    table: pl.DataFrame | None = None
    level_memo: dict = field(default_factory=dict)


_MEMO: dict[tuple, _Memo] = {}
# Source-defined location ids and review items already written, per transaction: they are only
# known to exist inside the transaction that wrote or read them (a rolled-back import loses them).
_IN_TRANSACTION: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def resolve_places(conn: Connection, records: pl.DataFrame, *, country_iso3: str, reporting_date: date | None,
                   source_file_id: int | None, file_name: str) -> Resolution:
    iso3 = country_iso3.upper()
    tx = _IN_TRANSACTION.setdefault(conn.get_nested_transaction() or conn.get_transaction(), {})
    gaz, aliases, alias_stamp = _gazetteer_state(conn, iso3, tx)
    views = _Views(gaz, reporting_date)
    # A place column that is empty on every row (names when codes are given, sites, admin4...) tells
    # no place from another: unique and join on the others, and match it only against memo rows
    # where it is empty too (the same as joining on it with nulls equal).
    empty = [c for c, n in zip(PLACE_COLUMNS, records.select(pl.col(PLACE_COLUMNS).null_count()).row(0), strict=True)
             if n == records.height]
    keys = [c for c in PLACE_COLUMNS if c not in empty]
    if not keys:  # no rows
        keys, empty = PLACE_COLUMNS, []
    # maintain_order: decisions, and so new places' ids, follow the file, not hash order
    places = records.select(PLACE_COLUMNS + SITE_EXTRAS).unique(subset=keys, keep="first", maintain_order=True)
    swaps, swap_issues = detect_swaps(places, views, file_name)
    memo_key = (str(conn.engine.url), iso3, tuple((v.id, str(v.loaded_at)) for v in gaz.versions),
                views.version_ids(), alias_stamp, tuple(sorted(swaps)))
    if memo_key not in _MEMO and len(_MEMO) >= 64:
        _MEMO.clear()
    memo = _MEMO.setdefault(memo_key, _Memo())

    fresh = places if memo.table is None else places.join(
        memo.table.select(PLACE_COLUMNS), on=PLACE_COLUMNS, how="anti", nulls_equal=True)
    if fresh.height:
        first = len(memo.decisions)
        for place in fresh.iter_rows(named=True):
            memo.decisions.append(_decide(gaz, views, iso3, place, swaps, aliases, memo.level_memo))
        added = fresh.select(PLACE_COLUMNS).with_columns(_result_columns(memo.decisions[first:], first))
        memo.table = added if memo.table is None else pl.concat([memo.table, added])

    base = records.drop([c for c in OUT_SCHEMA if c in records.columns])
    if memo.table is None:  # an empty batch
        return Resolution(base.with_columns(pl.lit(None, t).alias(c) for c, t in OUT_SCHEMA.items()), swap_issues)
    table = memo.table.filter(*[pl.col(c).is_null() for c in empty]) if empty else memo.table
    # joined on the key columns alone and put beside the records: a join of the whole batch would copy
    # its forty columns (a place's decision is one row of `table`, so the rows stay one for one)
    decided = base.select(keys).join(table.drop(empty), on=keys, how="left", nulls_equal=True, maintain_order="left")
    joined = (pl.concat([base, decided.drop(keys)], how="horizontal") if decided.height == base.height
              else base.join(table.drop(empty), on=keys, how="left", nulls_equal=True, maintain_order="left"))
    ids = _source_ids(conn, iso3, memo, joined, tx)
    # most files name only official places: then there is no source-defined id to look up
    located = (joined.join(ids, on="location_pcode", how="left", maintain_order="left") if ids.height
               else joined.with_columns(pl.lit(None, pl.Int64).alias("_source_id"))).with_columns(
        pl.when(pl.col("_source_level").is_not_null()).then(pl.col("_source_id"))
        .otherwise(pl.col("_official_id")).alias("location_id"))
    flagged = located.filter(pl.col("_flag"))
    issues = swap_issues + (_row_issues(flagged, memo.decisions, file_name) if flagged.height else [])
    reviews = _write_reviews(conn, iso3, source_file_id, memo, flagged, tx)
    return Resolution(located.select([*base.columns, *OUT_SCHEMA]), issues, reviews)


class _Views(dict):
    """Each level's view (catalogue.Level) of the gazetteer on a day, built when first used: indexing a
    level's units costs ~1 ms a level and country, and a file that names only sites (flow monitoring,
    ten countries) uses none of them."""

    def __init__(self, gaz: CountryGazetteer, day: date | None):
        super().__init__()
        self.gaz, self.day = gaz, day

    def __missing__(self, level: int):
        view = self[level] = self.gaz.level(level, self.day)
        return view

    def get(self, level: int, default=None):
        return self[level]

    def version_ids(self) -> tuple:
        """The id of each level's version (None where the level has none): what the views are views of."""
        return tuple(None if v is None else v.id for v in (self.gaz.choose(lvl, self.day) for lvl in (0, *ADMIN_LEVELS)))


def version_groups(conn: Connection, country_iso3: str, days: list[date]) -> list[list[date]]:
    """Reporting dates grouped by the boundary versions valid on them (one version per level).

    A batch may hold rounds on both sides of a new COD's valid-from date: each row must be matched
    against the version valid at its own date, so the caller resolves each group on its own.
    Dates that choose the same versions share a group (and the decisions made for it)."""
    iso3 = country_iso3.upper()
    tx = _IN_TRANSACTION.setdefault(conn.get_nested_transaction() or conn.get_transaction(), {})
    gaz, _, _ = _gazetteer_state(conn, iso3, tx)
    # A version is chosen by comparing the day with the versions' start and end dates only, so days
    # between the same two of those dates choose alike: one choice per such span, not per day (a
    # flow-monitoring file has hundreds of monthly rounds per country, and one or two spans).
    bounds = sorted({d for v in gaz.versions for d in (v.valid_from, v.valid_to) if d is not None})
    by_span: dict[int | None, tuple] = {}
    groups: dict[tuple, list[date]] = {}
    for day in days:
        span = None if day is None else bisect.bisect_right(bounds, day.date() if isinstance(day, datetime) else day)
        chosen = by_span.get(span)
        if chosen is None:
            chosen = by_span[span] = tuple(None if v is None else (v.id, v.name)
                                           for v in (gaz.choose(lvl, day) for lvl in (0, *ADMIN_LEVELS)))
        groups.setdefault(chosen, []).append(day)
    return list(groups.values())


def load_missing(conn: Connection, countries: list[str]) -> None:
    """Bring in the bundled p-code list, in one load, for the countries of `countries` that have no
    official gazetteer in this database yet (one nobody initialised). `_gazetteer_state` would load
    them one at a time as it meets them, each load dropping every cached gazetteer and snapshot (a
    flow-monitoring file spans ten countries: ~25 ms each, twice)."""
    wanted = sorted({c.upper() for c in countries if c})
    if not wanted:
        return
    have = set(conn.execute(select(boundary_version.c.country_iso3).distinct().where(
        boundary_version.c.country_iso3.in_(wanted), boundary_version.c.name != SOURCE_DEFINED_NAME)).scalars())
    missing = [c for c in wanted if c not in have]
    if missing:
        load_bundled(conn, missing)


def _gazetteer_state(conn: Connection, iso3: str, tx: dict) -> tuple[CountryGazetteer, dict, tuple]:
    """The official gazetteer and the review decisions, read once per transaction: the rounds of one
    import then see the same gazetteer, and a round whose places are known needs no query at all."""
    state = tx.get(("state", iso3))
    if state is not None and state[0] == generation():
        return state[1]
    gaz = official(conn, iso3)
    if not gaz.versions and load_bundled(conn, [iso3]):
        gaz = official(conn, iso3)  # a database nobody initialised: bring in the bundled list for this country
    aliases, alias_stamp = alias_map(conn, iso3)
    tx[("state", iso3)] = (generation(), (gaz, aliases, alias_stamp))
    return gaz, aliases, alias_stamp


def _result_columns(decisions: list[PlaceDecision], first: int) -> list[pl.Series]:
    ms = [d.match for d in decisions]
    return [
        pl.Series("location_pcode", [m.pcode if m.accepted else None for m in ms], pl.String),
        pl.Series("match_method", [m.method for m in ms], pl.String),
        pl.Series("match_score", [m.score for m in ms], pl.Float64),
        pl.Series("match_status", [m.status for m in ms], pl.String),
        pl.Series("match_detail", [m.detail for m in ms], pl.String),
        pl.Series("_official_id", [m.location_id if m.accepted else None for m in ms], pl.Int64),
        pl.Series("_source_level", [m.new_place["admin_level"] if m.accepted and m.new_place else None for m in ms],
                  pl.Int8),
        pl.Series("_pid", range(first, first + len(ms)), pl.Int64),
        # rows of these places need issues (findings, or a place left unresolved) or review items
        pl.Series("_flag", [bool(d.findings or d.reviews or not d.match.accepted) for d in decisions], pl.Boolean),
    ]


def _source_ids(conn: Connection, iso3: str, memo: _Memo, joined: pl.DataFrame, tx: dict) -> pl.DataFrame:
    """(location_pcode, _source_id) of the source-defined places known in this transaction,
    after creating (or reading) those of the batch that were not yet."""
    known: pl.DataFrame = tx.get(("ids", iso3), pl.DataFrame(schema={"location_pcode": pl.String,
                                                                      "_source_id": pl.Int64}))
    batch = joined.filter(pl.col("_source_level").is_not_null()).select("location_pcode", "_pid")
    missing = batch.unique("location_pcode", maintain_order=True).join(known, on="location_pcode", how="anti",
                                                                      maintain_order="left")
    if missing.height:
        created = sourced.ensure_places(conn, iso3, [memo.decisions[i].match for i in missing["_pid"].to_list()])
        known = pl.concat([known, pl.DataFrame({"location_pcode": [p for _, p in created],
                                                "_source_id": list(created.values())},
                                               schema=known.schema)]).unique("location_pcode", keep="last")
        tx[("ids", iso3)] = known
    return known


def _write_reviews(conn: Connection, iso3: str, source_file_id: int | None, memo: _Memo, flagged: pl.DataFrame,
                   tx: dict) -> list[dict]:
    done: set = tx.setdefault(("reviews", iso3, source_file_id), set())
    todo = [i for i in flagged["_pid"].unique(maintain_order=True).to_list() if i not in done and memo.decisions[i].reviews]
    done.update(todo)
    return sourced.write_reviews(conn, iso3, source_file_id, [r for i in todo for r in memo.decisions[i].reviews])


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
    parent: str | None = iso3  # deepest ancestor resolved so far
    parent_level = 0
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
        # Names are searched among the parent's children only when the parent is the level just above;
        # a row that skips a level (site rows with admin2 but no admin1) is matched on the whole level.
        direct = parent if parent_level == lvl - 1 else None
        if view is None:
            m = sourced.source_place(lvl, code, name, parent)
        else:
            memo_key = (lvl, code, name, direct)
            m = level_memo.get(memo_key)
            if m is None:
                m = level_memo[memo_key] = match_place(gaz, view, code, name, direct, aliases)
        out.findings.extend((code_col if f.field == "code" else name_col, f) for f in m.findings)
        if view is not None and not m.accepted and m.method != "alias" and (name or code):  # alias: already decided
            out.reviews.append({"admin_level": lvl, "input_name": name, "input_code": code, "parent_pcode": direct,
                                "candidates": m.candidates, "reason": m.detail,
                                "name_key": name_key(name) if name else None})
        if lvl == level:
            out.match = m
        if m.accepted:
            parent, parent_level = m.pcode, lvl
    if level == SITE_LEVEL:
        out.match = sourced.site_place(place, parent)
    return out


def _country(view, iso3: str) -> Match:
    unit = view.units.get(iso3) if view is not None else None
    if unit is not None:
        return Match(iso3, unit.id, unit.name, "exact-code", 100.0, "matched")
    return sourced.source_place(0, iso3, iso3, None)


MAX_ROW_ISSUES = 1000  # per rule and batch, as the validation rules do; the rest are summarised


def _row_issues(flagged: pl.DataFrame, decisions: list[PlaceDecision], file_name: str) -> list[Issue]:
    """Place issues located on their rows. A warning (e.g. a p-code written the old way) is said once per
    code, at its first row, with how many rows share it; errors are listed per row up to MAX_ROW_ISSUES per
    rule, then summarised at the first unlisted row (so the round it belongs to stays blocked)."""
    issues: list[Issue] = []
    warned: dict[tuple, list] = {}
    errors: dict[str, int] = {}
    summary: dict[str, Issue] = {}

    def add_error(issue: Issue) -> None:
        errors[issue.rule] = errors.get(issue.rule, 0) + 1
        if errors[issue.rule] <= MAX_ROW_ISSUES:
            issues.append(issue)
        elif issue.rule not in summary:
            summary[issue.rule] = issue

    for place_index, sheet, row in flagged.select("_pid", "source_sheet", "source_row").iter_rows():
        d = decisions[place_index]
        for column, f in d.findings:
            issue = Issue(Severity(f.severity), f.rule, f.message, file_name, sheet, row, column, f.value)
            if issue.severity == Severity.ERROR:
                add_error(issue)
            else:
                warned.setdefault((f.rule, column, f.value, f.message), [issue, 0])[1] += 1
        m = d.match
        if not m.accepted and not any(f.severity == "error" for _, f in d.findings):
            add_error(Issue(Severity.ERROR, "place-needs-review",
                            f"place not resolved ({m.status}): {m.detail or 'no match'}", file_name, sheet, row,
                            None, None))
    for first, count in warned.values():
        issues.append(first if count == 1 else replace(first, message=f"{first.message} (and {count - 1:,} more rows)"))
    for rule_slug, first in summary.items():
        hidden = errors[rule_slug] - MAX_ROW_ISSUES
        issues.append(replace(first, message=f"{hidden:,} more rows with the same problem ({rule_slug}) are not "
                                             f"listed one by one; the first is this row"))
    return issues
