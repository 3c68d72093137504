"""The official places of a country, read once from the store and indexed for matching.

A country may have several official boundary versions (the bundled OCHA list, a COD-AB edition
loaded later, an older edition for older rounds). For a reporting date we choose, per admin
level, the version valid on that date (latest `valid_from` first; a loaded COD over the bundled
list on a tie, since it carries more names); when no version covers the date (DTM rounds from
2017 against a list valid from 2021), the nearest one.

The indexes are cached per process and database, keyed by the versions' ids and load times, so
a newly loaded version is seen at once and a rolled-back one is never reused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

import polars as pl
from sqlalchemy import Connection, String, cast, select

from mobtrack.gazetteer.load import BUNDLED_NAME, SOURCE_DEFINED_NAME
from mobtrack.gazetteer.names import fuzzy_form, name_key, sorted_key
from mobtrack.gazetteer.pcodes import CodeIndex
from mobtrack.store.schema import boundary_version, location


@dataclass(frozen=True)
class Version:
    id: int | None
    name: str
    valid_from: date | None
    valid_to: date | None
    loaded_at: datetime | None
    levels: frozenset[int]

    @property
    def bundled(self) -> bool:
        return self.name == BUNDLED_NAME

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class Unit:
    id: int | None
    pcode: str
    name: str
    parent: str | None
    names_json: str | None  # location.names as stored; read only when a name has to be matched

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Every spelling the gazetteer gives (languages, ref and alternative names)."""
        return _spellings(self.name, self.names_json)

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(k for k in {f(s) for s in self.names for f in (name_key, sorted_key)} if k)


@dataclass
class Level:
    """One admin level of one boundary version, indexed for matching."""

    iso3: str
    level: int
    version: Version
    units: dict[str, Unit]
    parents: dict[str, str | None]
    children: dict[str | None, list[str]] = field(default_factory=lambda: defaultdict(list))
    _by_exact: dict[str, list[str]] | None = None
    _by_key: dict[str, list[str]] | None = None
    _codes: CodeIndex | None = None
    _parent_codes: CodeIndex | None = None
    _fuzzy: dict = field(default_factory=dict)

    def __post_init__(self):
        for unit in self.units.values():
            self.children[unit.parent].append(unit.pcode)

    def _index_names(self) -> None:
        # Built on the first name to match: an import that gives only codes never pays for it.
        self._by_exact, self._by_key = defaultdict(list), defaultdict(list)
        for unit in self.units.values():
            for spelling in set(unit.names):
                self._by_exact[spelling].append(unit.pcode)
            for key in unit.keys:
                self._by_key[key].append(unit.pcode)

    @property
    def by_exact(self) -> dict[str, list[str]]:
        if self._by_exact is None:
            self._index_names()
        return self._by_exact

    @property
    def by_key(self) -> dict[str, list[str]]:
        if self._by_key is None:
            self._index_names()
        return self._by_key

    @property
    def codes(self) -> CodeIndex:
        if self._codes is None:
            self._codes = CodeIndex(self.iso3, self.level, list(self.units), self.parents)
        return self._codes

    def own_parent(self, parent: str | None) -> str | None:
        """The parent p-code as this version writes it.

        Levels may come from different versions (a COD-AB admin1 layer with `NG01` over the OCHA
        list's admin2 under `NG001`); the parent is translated by the same rewrite rules as any
        code, or dropped (None: search the whole level) when it has no equivalent here.
        """
        if parent is None or parent in self.children or self.level == 1:
            return parent
        if self._parent_codes is None:
            self._parent_codes = CodeIndex(self.iso3, self.level - 1, [p for p in self.children if p], self.parents)
        return self._parent_codes.rewrite(parent).pcode

    def fuzzy_choices(self, parent: str | None) -> tuple[list[str], list[str]]:
        """(spellings, p-codes) to score a name against: the parent's children, or the whole level."""
        if parent not in self._fuzzy:
            pcodes = self.children.get(parent, []) if parent is not None else list(self.units)
            forms, owners = [], []
            for pcode in pcodes:
                for spelling in {fuzzy_form(n) for n in self.units[pcode].names}:
                    if spelling:
                        forms.append(spelling)
                        owners.append(pcode)
            self._fuzzy[parent] = (forms, owners)
        return self._fuzzy[parent]


class CountryGazetteer:
    """Every official unit of one country, across its boundary versions."""

    def __init__(self, iso3: str, versions: list[Version], units: pl.DataFrame):
        self.iso3 = iso3
        self.versions = versions
        self._rows = units
        self._levels: dict[tuple[int, int | None], Level] = {}

    # Both indexes are built when first used: a file that names only sites (flow monitoring, ten
    # countries) matches nothing against the official units.
    @cached_property
    def parents(self) -> dict[str, str | None]:
        return dict(zip(self._rows["pcode"], self._rows["parent_pcode"], strict=True))

    @cached_property
    def code_versions(self) -> dict[tuple[int, str], set[str]]:
        """p-code -> names of the versions that have it, to tell "from another version" from "unknown"."""
        found: dict[tuple[int, str], set[str]] = defaultdict(set)
        names = {v.id: v.name for v in self.versions}
        for lvl, pcode, vid in self._rows.select("admin_level", "pcode", "boundary_version_id").iter_rows():
            found[(lvl, pcode)].add(names.get(vid, "?"))
        return found

    @property
    def levels(self) -> set[int]:
        return set().union(*(v.levels for v in self.versions)) if self.versions else set()

    def choose(self, level: int, day: date | None) -> Version | None:
        candidates = [v for v in self.versions if level in v.levels]
        if not candidates:
            return None
        day = day or date.today()
        if isinstance(day, datetime):  # a timestamp is compared by its day
            day = day.date()
        valid = [v for v in candidates if v.covers(day)]
        if valid:
            return max(valid, key=lambda v: (v.valid_from or date.min, not v.bundled, v.loaded_at or datetime.min))
        later = [v for v in candidates if v.valid_from and v.valid_from > day]
        if later:
            return min(later, key=lambda v: (v.valid_from, v.bundled))
        return max(candidates, key=lambda v: (v.valid_to or date.max, not v.bundled))

    def level(self, level: int, day: date | None) -> Level | None:
        version = self.choose(level, day)
        if version is None:
            return None
        key = (level, version.id)
        if key not in self._levels:
            part = self._rows.filter((pl.col("admin_level") == level) & (pl.col("boundary_version_id") == version.id)
                                     if version.id is not None else pl.col("admin_level") == level)
            units = {pcode: Unit(uid, pcode, name, parent, names) for uid, pcode, name, names, parent in
                     part.select("id", "pcode", "name", "names", "parent_pcode").iter_rows()}
            self._levels[key] = Level(self.iso3, level, version, units, self.parents)
        return self._levels[key]


def _spellings(name: str, names) -> tuple[str, ...]:
    if isinstance(names, str):
        names = json.loads(names or "{}")
    out = [name]
    for k, v in (names or {}).items():
        if k == "alt":
            out.extend(v)
        elif v:
            out.append(v)
    return tuple(dict.fromkeys(s.strip() for s in out if s and s.strip()))


_CACHE: dict[tuple[str, str], tuple[tuple, CountryGazetteer]] = {}


# Bumped whenever this process changes what the gazetteer of a database holds (a version loaded,
# a review decided), so per-transaction snapshots taken before (resolve.py) are not reused.
_GENERATION = [0]


def generation() -> int:
    return _GENERATION[0]


def bump() -> None:
    _GENERATION[0] += 1


def forget() -> None:
    """Drop cached gazetteers (after loading a version)."""
    _CACHE.clear()
    bump()


def official(conn: Connection, iso3: str) -> CountryGazetteer:
    """The official gazetteer of a country as stored in `conn`'s database (cached)."""
    versions_rows = conn.execute(
        select(boundary_version.c.id, boundary_version.c.name, boundary_version.c.valid_from,
               boundary_version.c.valid_to, boundary_version.c.loaded_at)
        .where(boundary_version.c.country_iso3 == iso3, boundary_version.c.name != SOURCE_DEFINED_NAME)
        .order_by(boundary_version.c.id)).all()
    signature = tuple((r.id, str(r.loaded_at)) for r in versions_rows)
    cache_key = (str(conn.engine.url), iso3)
    hit = _CACHE.get(cache_key)
    if hit is not None and hit[0] == signature:
        return hit[1]
    ids = [r.id for r in versions_rows]
    rows = conn.execute(
        select(location.c.id, location.c.pcode, location.c.admin_level, location.c.name,
               cast(location.c.names, String), location.c.parent_pcode, location.c.boundary_version_id)
        .where(location.c.boundary_version_id.in_(ids))).all() if ids else []
    units = _units_frame([tuple(r) for r in rows])
    levels = defaultdict(set)
    for lvl, vid in units.select("admin_level", "boundary_version_id").unique().iter_rows():
        levels[vid].add(lvl)
    versions = [Version(r.id, r.name, r.valid_from, r.valid_to, r.loaded_at, frozenset(levels.get(r.id, ())))
                for r in versions_rows]
    gazetteer = CountryGazetteer(iso3, versions, units)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[cache_key] = (signature, gazetteer)
    return gazetteer


def _units_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "id": pl.Int64, "pcode": pl.String, "admin_level": pl.Int8, "name": pl.String, "names": pl.String,
        "parent_pcode": pl.String, "boundary_version_id": pl.Int64})


def from_units(iso3: str, units: pl.DataFrame, version_name: str = BUNDLED_NAME) -> CountryGazetteer:
    """A gazetteer straight from reader units (no database): what `mobtrack match` uses out of the box."""
    part = units.filter(pl.col("country_iso3") == iso3)
    rows = [(None, p, lvl, n, ns, par, None) for p, lvl, n, ns, par in part.select(
        "pcode", "admin_level", "name", "names", "parent_pcode").iter_rows()]
    frame = _units_frame(rows)
    vf = part["valid_from"].min() if part.height else None
    version = Version(None, version_name, vf, None, None, frozenset(part["admin_level"].unique().to_list()))
    return CountryGazetteer(iso3, [version], frame)
