"""Loading gazetteers into the store: one load = one boundary version per country.

Official versions come from COD p-code lists and boundary files (`load_paths`) or from the OCHA
global p-code list shipped with the package (`load_bundled`, called by `mobtrack init` and,
for one country, by the resolver when a database has never been initialised). Each version
also holds the country itself as a level-0 location whose p-code is the ISO3 code, so every
admin level has a place to hang figures on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, func, insert, select

from mobtrack.gazetteer.readers import UNIT_SCHEMA, GazetteerFileError, read_units, units_from_long
from mobtrack.store.bulk import insert_rows
from mobtrack.store.schema import boundary_version, location

BUNDLED_NAME = "OCHA global p-codes"
BUNDLED_SOURCE = "OCHA global p-code list (global_pcodes_adm_1_2.csv), CC BY-IGO; bundled with mobtrack"
SOURCE_DEFINED_NAME = "source-defined"


@dataclass
class LoadedVersion:
    country_iso3: str
    name: str
    status: str  # loaded | unchanged
    version_id: int
    units: dict[int, int]  # admin level -> number of units
    valid_from: str | None
    valid_to: str | None

    def as_dict(self) -> dict:
        return {"country": self.country_iso3, "version": self.name, "status": self.status,
                "boundary_version_id": self.version_id, "units": {str(k): v for k, v in self.units.items()},
                "valid_from": self.valid_from, "valid_to": self.valid_to}


@cache
def _bundled_table() -> pl.DataFrame:
    data = resources.files("mobtrack.data").joinpath("global_pcodes_adm_1_2.csv.gz").read_bytes()
    return pl.read_csv(data, infer_schema=False)


@cache
def bundled_units() -> pl.DataFrame:
    """The OCHA global p-code list shipped with the package, as units (read once per process)."""
    return units_from_long(_bundled_table(), None, "global_pcodes_adm_1_2.csv")


def _bundled_units_of(countries: list[str]) -> pl.DataFrame:
    """`bundled_units` of a few countries: only their rows are turned into units (the whole list's
    32k cost ~25 ms, the first import into a database nobody initialised needs a dozen countries)."""
    table = _bundled_table()
    rows = table.filter(pl.col("Location").str.strip_chars().str.to_uppercase().is_in(countries))
    return units_from_long(rows, None, "global_pcodes_adm_1_2.csv")


def _country_name(iso3: str) -> str:
    import pycountry

    country = pycountry.countries.get(alpha_3=iso3)
    return getattr(country, "common_name", None) or (country.name if country else iso3)


def _with_country_units(units: pl.DataFrame) -> pl.DataFrame:
    """Add the level-0 unit of every country that lacks one, and hang level 1 under the ISO3 code."""
    units = units.with_columns(
        pl.when(pl.col("admin_level") == 1).then(pl.col("country_iso3")).otherwise(pl.col("parent_pcode"))
        .alias("parent_pcode"))
    have = set(units.filter(pl.col("admin_level") == 0)["country_iso3"].to_list())
    missing = sorted(set(units["country_iso3"].unique().to_list()) - have)
    if not missing:
        return units
    extra = pl.DataFrame(
        {"country_iso3": missing, "admin_level": [0] * len(missing), "pcode": missing,
         "name": [_country_name(c) for c in missing],
         "names": [json.dumps({"en": _country_name(c)}) for c in missing]},
    ).with_columns(*(pl.lit(None, dtype).alias(c) for c, dtype in UNIT_SCHEMA.items()
                     if c not in ("country_iso3", "admin_level", "pcode", "name", "names")))
    return pl.concat([extra.select(list(UNIT_SCHEMA)), units], how="vertical_relaxed")


def _write_versions(conn: Connection, units: pl.DataFrame, name: str, source: str) -> dict[str, int]:
    """Insert one boundary version per country of `units` and all its locations; returns version ids."""
    now = datetime.now(UTC)
    per_country = units.group_by("country_iso3").agg(
        pl.col("valid_from").min(),
        pl.when(pl.col("valid_to").null_count() > 0).then(None).otherwise(pl.col("valid_to").max()).first()
        .alias("valid_to"),
    ).sort("country_iso3")
    conn.execute(insert(boundary_version), [
        {"country_iso3": r["country_iso3"], "name": name, "source": source, "valid_from": r["valid_from"],
         "valid_to": r["valid_to"], "loaded_at": now} for r in per_country.iter_rows(named=True)])
    ids = dict(conn.execute(select(boundary_version.c.country_iso3, boundary_version.c.id).where(
        boundary_version.c.name == name,
        boundary_version.c.country_iso3.in_(per_country["country_iso3"].to_list()))).all())
    rows = units.with_columns(
        pl.col("country_iso3").replace_strict(ids, return_dtype=pl.Int64).alias("boundary_version_id"),
        pl.lit("admin").alias("kind"),
    )
    bulk_insert(conn, location, rows.select(
        "pcode", "country_iso3", "admin_level", "name", "names", "parent_pcode", "boundary_version_id", "kind",
        "latitude", "longitude", "geometry", "valid_from", "valid_to"))
    return ids


def bulk_insert(conn: Connection, table, frame: pl.DataFrame) -> None:
    """Insert a frame through COPY or the driver's executemany (store/bulk.py): the ORM-free path is
    ~10x faster for the 32k rows of the bundled list. JSON columns arrive already serialised; SQLite
    gets ISO dates."""
    if frame.is_empty():
        return
    if conn.dialect.name == "sqlite":
        frame = frame.with_columns(pl.col(c).dt.to_string("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date)
    insert_rows(conn, table, frame.columns, frame.rows())


def existing_versions(conn: Connection, name: str) -> dict[str, tuple[int, str | None]]:
    rows = conn.execute(select(boundary_version.c.country_iso3, boundary_version.c.id, boundary_version.c.source)
                        .where(boundary_version.c.name == name)).all()
    return {r.country_iso3: (r.id, r.source) for r in rows}


def load_bundled(conn: Connection, countries: list[str] | None = None) -> int:
    """Load the bundled OCHA global p-code list, one boundary version per country; idempotent.

    Countries already loaded are left alone. Returns the number of locations inserted.
    """
    if countries is None:
        units = bundled_units()
    else:
        units = _bundled_units_of([c.upper() for c in countries])
    done = set(existing_versions(conn, BUNDLED_NAME))
    units = units.filter(~pl.col("country_iso3").is_in(list(done)))
    if units.is_empty():
        return 0
    units = _with_country_units(units)
    _write_versions(conn, units, BUNDLED_NAME, BUNDLED_SOURCE)
    from mobtrack.gazetteer.catalogue import forget

    forget()
    return units.height


def load_paths(conn: Connection, paths: list[Path], *, country_iso3: str | None = None,
               version_name: str | None = None) -> list[LoadedVersion]:
    """Load gazetteer files as one boundary version per country they cover.

    Files loaded together (e.g. the admin1 and admin2 layers of one COD-AB edition) form one
    version. Loading the same files again changes nothing; a different content under an existing
    version name is refused, because stored rounds point at the locations of that version.
    """
    if not paths:
        raise GazetteerFileError("no files given")
    country_iso3 = country_iso3.upper() if country_iso3 else None
    digest = hashlib.sha256()
    frames = []
    for path in sorted(Path(p) for p in paths):
        digest.update(path.read_bytes())
        frames.append(read_units(path, country_iso3))
    units = _merge(pl.concat(frames, how="vertical_relaxed"))
    if units.is_empty():
        raise GazetteerFileError(f"{', '.join(Path(p).name for p in paths)}: no units for {country_iso3 or 'any country'}")
    name = version_name or _default_name(paths)
    source = f"{', '.join(Path(p).name for p in sorted(paths))}; sha256 {digest.hexdigest()}"
    existing = existing_versions(conn, name)
    results: list[LoadedVersion] = []
    fresh = []
    for (iso3,), part in units.group_by(["country_iso3"], maintain_order=True):
        if iso3 in existing:
            vid, old_source = existing[iso3]
            if old_source != source:
                raise GazetteerFileError(
                    f"{iso3}: a boundary version named {name!r} already exists with other content; "
                    "give another --version-name")
            stored = conn.execute(select(location.c.admin_level, func.count()).where(
                location.c.boundary_version_id == vid).group_by(location.c.admin_level)).all()
            summary = _summary(iso3, name, "unchanged", vid, part)
            summary.units = {int(lvl): int(n) for lvl, n in sorted(stored)}
            results.append(summary)
        else:
            fresh.append(part)
    if fresh:
        new = _with_country_units(pl.concat(fresh))
        ids = _write_versions(conn, new, name, source)
        for (iso3,), part in new.group_by(["country_iso3"], maintain_order=True):
            results.append(_summary(iso3, name, "loaded", ids[iso3], part))
        from mobtrack.gazetteer.catalogue import forget

        forget()
    return sorted(results, key=lambda r: r.country_iso3)


def _merge(units: pl.DataFrame) -> pl.DataFrame:
    """One row per (country, p-code): a unit read from its own layer (with geometry) wins over the
    same unit read as the ancestor columns of a deeper layer; names of both are kept."""
    if units.is_empty():
        return units
    ranked = units.with_columns(pl.col("geometry").is_null().alias("_no_geom"))
    best = ranked.sort(["country_iso3", "pcode", "_no_geom"]).unique(["country_iso3", "pcode"], keep="first",
                                                                       maintain_order=True)
    names = ranked.group_by(["country_iso3", "pcode"]).agg(pl.col("names"))
    merged = best.drop("names").join(names, on=["country_iso3", "pcode"], how="left")
    return merged.with_columns(
        pl.col("names").map_elements(_merge_names, return_dtype=pl.String)).select(list(UNIT_SCHEMA))


def _merge_names(values) -> str:
    out: dict = {}
    for text in values:
        for k, v in json.loads(text or "{}").items():
            if k == "alt":
                out["alt"] = sorted(set(out.get("alt", [])) | set(v))
            else:
                out.setdefault(k, v)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def _default_name(paths: list[Path]) -> str:
    stems = sorted(Path(p).name.split(".")[0] for p in paths)
    return " + ".join(stems)[:200]


def _summary(iso3: str, name: str, status: str, vid: int, part: pl.DataFrame) -> LoadedVersion:
    counts = dict(part.group_by("admin_level").len().sort("admin_level").iter_rows())
    vf = part["valid_from"].min()
    vt = None if part["valid_to"].null_count() else part["valid_to"].max()
    return LoadedVersion(iso3, name, status, vid, {int(k): int(v) for k, v in counts.items()},
                         vf.isoformat() if vf else None, vt.isoformat() if vt else None)
