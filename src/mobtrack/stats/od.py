"""Origin-destination matrices: one contract, many sources.

A source is a function `(conn, ODQuery) -> polars.DataFrame` with exactly the columns
`origin, destination, value, source, period`, registered under a name with `register_od_source`.
The global statistics register `undesa`, `unhcr` and `worldbank` here; DTM origin fields and flow
monitoring register `dtm` and `fm` from their own modules the same way, and `mobtrack od --source`
offers whatever is registered. Filters (year, country, top N) are passed to the source so it can push
them into its query: the stats sources answer from `stats_corridor`'s indexes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Connection, Engine, func, select, union_all

from mobtrack.stats.releases import current_release
from mobtrack.stats.tables import stats_corridor

OD_COLUMNS = {"origin": pl.String, "destination": pl.String, "value": pl.Float64, "source": pl.String,
              "period": pl.String}


@dataclass(frozen=True)
class ODQuery:
    year: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    level: str = "country"  # country | 1 | 2 (admin levels, for sources that have them)
    country: str | None = None  # ISO3: keep flows from or to it
    top: int | None = None
    measure: str | None = None  # source-specific, e.g. UNHCR refugees | asylum_seekers
    edition: str | None = None  # a source's edition (release), default the newest


class ODError(ValueError):
    """The query cannot be answered by this source (wrong level, no data loaded...)."""


@dataclass(frozen=True)
class ODSource:
    name: str
    fetch: Callable[[Connection, ODQuery], pl.DataFrame]
    description: str


OD_SOURCES: dict[str, ODSource] = {}


def register_od_source(name: str, fetch: Callable[[Connection, ODQuery], pl.DataFrame], description: str) -> None:
    OD_SOURCES[name] = ODSource(name, fetch, description)


def od_matrix(engine: Engine, source: str, query: ODQuery) -> pl.DataFrame:
    if source not in OD_SOURCES:
        raise ODError(f"unknown OD source {source!r}; registered: {', '.join(sorted(OD_SOURCES))}")
    with engine.connect() as conn:
        frame = OD_SOURCES[source].fetch(conn, query)
    missing = set(OD_COLUMNS) - set(frame.columns)
    if missing:  # a plugged-in source that breaks the contract must fail loudly, not half-render a map
        raise ODError(f"OD source {source!r} returned no {sorted(missing)} column(s)")
    return frame.select([pl.col(c).cast(t) for c, t in OD_COLUMNS.items()])


def net_flows(frame: pl.DataFrame) -> pl.DataFrame:
    """Per unordered pair: value A->B minus B->A, oriented so the net value is positive."""
    pairs = frame.select("origin", "destination", "value")
    back = pairs.rename({"origin": "destination", "destination": "origin", "value": "reverse"})
    joined = pairs.join(back, on=["origin", "destination"], how="full", coalesce=True).fill_null(0)
    net = joined.with_columns((pl.col("value") - pl.col("reverse")).alias("net"))
    return (net.filter((pl.col("net") > 0) | ((pl.col("net") == 0) & (pl.col("origin") < pl.col("destination"))))
            .select("origin", "destination", pl.col("value").alias("gross_forward"),
                    pl.col("reverse").alias("gross_reverse"), "net")
            .sort("net", descending=True))


def change(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Corridor by corridor, the value in each period and the change (absent = 0)."""
    a = before.select("origin", "destination", pl.col("value").alias("before"))
    b = after.select("origin", "destination", pl.col("value").alias("after"))
    out = a.join(b, on=["origin", "destination"], how="full", coalesce=True).fill_null(0)
    return out.with_columns((pl.col("after") - pl.col("before")).alias("change")).sort(
        pl.col("change").abs(), descending=True)


# --- the global statistics as OD sources -------------------------------------------------------

def corridor_fetcher(source: str, dataset: str, default_measure: str, measures: tuple[str, ...]):
    def fetch(conn: Connection, q: ODQuery) -> pl.DataFrame:
        if q.level != "country":
            raise ODError(f"{source} is by country only; admin levels come from DTM and flow-monitoring sources")
        if q.date_from or q.date_to:
            raise ODError(f"{source} is yearly; use --year instead of --from/--to")
        measure = q.measure or default_measure
        if measure not in measures:
            raise ODError(f"{source} has no measure {measure!r}; use one of {', '.join(measures)}")
        release = current_release(conn, dataset, q.edition)
        if release is None:
            raise ODError(f"no {dataset} data loaded; run `mobtrack stats load` on a {source} file first")
        c = stats_corridor.c
        base = (c.release_id == release.id) & (c.measure == measure)
        year = q.year
        if year is None:
            year = conn.execute(select(func.max(c.year)).where(base)).scalar()
        where = base & (c.year == year)
        cols = (c.origin, c.destination, c.value)
        if q.country:
            country = q.country.upper()
            # Two index probes (by origin, by destination) beat one OR that SQLite may turn into a scan.
            both = union_all(select(*cols).where(where & (c.origin == country)),
                             select(*cols).where(where & (c.destination == country) & (c.origin != country))).subquery()
            stmt = select(both.c.origin, both.c.destination, both.c.value).order_by(both.c.value.desc())
        else:
            stmt = select(*cols).where(where).order_by(c.value.desc())
        if q.top:
            stmt = stmt.limit(q.top)
        rows = conn.execute(stmt).all()
        frame = pl.DataFrame(rows, schema={"origin": pl.String, "destination": pl.String, "value": pl.Float64},
                             orient="row")
        return frame.with_columns(pl.lit(f"{source}:{release.edition}").alias("source"),
                                  pl.lit(str(year) if year is not None else None, dtype=pl.String).alias("period"))
    return fetch


register_od_source("undesa", corridor_fetcher("undesa", "undesa_stock", "migrant_stock", ("migrant_stock",)),
                   "UN DESA international migrant stock, origin x destination, mid-year")
register_od_source("worldbank", corridor_fetcher("worldbank", "worldbank_bilateral", "migrant_stock", ("migrant_stock",)),
                   "World Bank bilateral migration matrix")
register_od_source("unhcr", corridor_fetcher(
    "unhcr", "unhcr_population", "refugees",
    ("refugees", "asylum_seekers", "oip", "returned_refugees", "stateless", "ooc")),
    "UNHCR population by origin and country of asylum, end of year")
