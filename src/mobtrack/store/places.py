"""Reading places back: the admin hierarchy of a country as a small frame, cached per process."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, func, select

from mobtrack.store.schema import location

_CACHE: dict[tuple, pl.DataFrame] = {}


def stamp_query(country_iso3):
    """What a kept hierarchy is checked against: the number of the country's places and their highest
    id (places are only ever added). `country_iso3`: a code, or a bind parameter."""
    return select(func.count(location.c.id), func.max(location.c.id)).where(location.c.country_iso3 == country_iso3)


def hierarchy(conn: Connection, country_iso3: str, stamp: tuple | None = None) -> pl.DataFrame:
    """Every location of a country with its parent's id: id, pcode, name, admin_level, parent_id, kind.

    A parent is looked up by p-code, preferring the child's own boundary version, so that
    source-defined sites hang under the official admin unit they name. `stamp`: the country's
    `stamp_query` row, when the caller has just read it.
    """
    if stamp is None:
        stamp = conn.execute(stamp_query(country_iso3)).one()
    key = (str(conn.engine.url), country_iso3, tuple(stamp))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    rows = conn.execute(select(*_COLUMNS).where(location.c.country_iso3 == country_iso3)).all()
    return _keep(key, _linked(pl.DataFrame(rows, orient="row", schema=_SCHEMA)))


def hierarchies(conn: Connection, countries: list[str]) -> pl.DataFrame:
    """`hierarchy` of several countries, one after the other, in two queries rather than two per
    country (an import's rounds span ten countries for a flow-monitoring file)."""
    if not countries:
        return _linked(pl.DataFrame(schema=_SCHEMA))
    stamps = {c: (0, None) for c in countries}  # what stamp_query gives a country without places
    stamps.update({c: (n, top) for c, n, top in conn.execute(
        select(location.c.country_iso3, func.count(location.c.id), func.max(location.c.id))
        .where(location.c.country_iso3.in_(countries)).group_by(location.c.country_iso3))})
    url = str(conn.engine.url)
    found = {c: _CACHE.get((url, c, stamps[c])) for c in countries}
    missing = [c for c, frame in found.items() if frame is None]
    if missing:
        rows = conn.execute(select(location.c.country_iso3, *_COLUMNS)
                            .where(location.c.country_iso3.in_(missing))).all()
        frame = pl.DataFrame(rows, orient="row", schema={"country_iso3": pl.String, **_SCHEMA})
        # linked together (a parent is looked up within the child's country), then split by country
        parts = _linked(frame, ["country_iso3"]).partition_by("country_iso3", as_dict=True, include_key=False)
        empty = _linked(pl.DataFrame(schema=_SCHEMA))
        for c in missing:
            found[c] = _keep((url, c, stamps[c]), parts.get((c,), empty))
    return pl.concat([found[c] for c in countries], how="vertical_relaxed")


_COLUMNS = [location.c.id, location.c.pcode, location.c.name, location.c.admin_level, location.c.parent_pcode,
            location.c.boundary_version_id, location.c.kind, location.c.latitude, location.c.longitude]
_SCHEMA = {"id": pl.Int64, "pcode": pl.String, "name": pl.String, "admin_level": pl.Int8, "parent_pcode": pl.String,
           "boundary_version_id": pl.Int64, "kind": pl.String, "latitude": pl.Float64, "longitude": pl.Float64}


def _linked(frame: pl.DataFrame, within: list[str] = ()) -> pl.DataFrame:
    """Places with their parents' ids (see `hierarchy`); `within`: columns a parent shares with its child
    (the country, when `frame` holds several)."""
    parents = frame.select(
        *within, pl.col("pcode").alias("parent_pcode"), pl.col("id").alias("parent_id"),
        pl.col("boundary_version_id").alias("parent_version"),
    )
    return (
        frame.join(parents, on=[*within, "parent_pcode"], how="left")
        .with_columns((pl.col("parent_version") == pl.col("boundary_version_id")).fill_null(False).alias("_same"))
        .sort(["id", "_same", "parent_id"], descending=[False, True, True])
        .unique("id", keep="first", maintain_order=True)
        .drop("parent_version", "_same")
    )


def _keep(key: tuple, linked: pl.DataFrame) -> pl.DataFrame:
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = linked
    return linked
