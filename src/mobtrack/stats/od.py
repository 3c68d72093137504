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
from sqlalchemy import Connection, Engine, Integer, bindparam, func, select, union_all

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


class ODNoData(ODError):
    """A sound query, but the store holds no data for it (the API answers 404, not 400)."""


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
    if frame.schema == pl.Schema(OD_COLUMNS):
        return frame
    return frame.select([pl.col(c).cast(t) for c, t in OD_COLUMNS.items()])


def with_places(frame: pl.DataFrame, crosswalk=None) -> pl.DataFrame:
    """Adds origin/destination names and centroid coordinates (for arcs on a flow map). Codes the
    crosswalk does not know (admin p-codes from DTM sources) get nulls, to be filled by their source."""
    from mobtrack.stats.crosswalk import Crosswalk

    places = (crosswalk or Crosswalk.default()).places()
    for side in ("origin", "destination"):
        frame = frame.join(places.rename({"code": side, "name": f"{side}_name", "lat": f"{side}_lat",
                                          "lon": f"{side}_lon"}), on=side, how="left", maintain_order="left")
    return frame


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


def corridor_series(engine: Engine, dataset: str, origin: str, destination: str, measure: str = "migrant_stock",
                    edition: str | None = None) -> pl.DataFrame:
    """One corridor over every year of a stats dataset: {year, value}, oldest first."""
    with engine.connect() as conn:
        release = current_release(conn, dataset, edition)
        if release is None:
            raise ODNoData(f"no {dataset} data loaded")
        c = stats_corridor.c
        rows = conn.execute(select(c.year, c.value).where(
            c.release_id == release.id, c.measure == measure, c.origin == origin.upper(),
            c.destination == destination.upper()).order_by(c.year)).all()
    return pl.DataFrame(rows, schema={"year": pl.Int32, "value": pl.Float64}, orient="row")


# --- the global statistics as OD sources -------------------------------------------------------

def _corridor_statements() -> dict[tuple[bool, bool], object]:
    """The four query shapes (country filter or not, top N or not), built once with bound parameters:
    building SQLAlchemy expressions per call costs more than SQLite takes to answer from the index."""
    c = stats_corridor.c
    where = (c.release_id == bindparam("release")) & (c.measure == bindparam("measure")) & (c.year == bindparam("year"))
    cols = (c.origin, c.destination, c.value)
    world = select(*cols).where(where)
    # Two index probes (by origin, by destination) beat one OR that SQLite may turn into a scan.
    both = union_all(select(*cols).where(where & (c.origin == bindparam("country"))),
                     select(*cols).where(where & (c.destination == bindparam("country"))
                                         & (c.origin != bindparam("country")))).subquery()
    country = select(both.c.origin, both.c.destination, both.c.value)
    ordered = world.order_by(c.value.desc())
    # The country shape has no ORDER BY on purpose: with one, SQLite walks the by-value index of the
    # whole year looking for the country's rows; without, it probes the by-country indexes and the
    # few hundred rows are sorted in Python.
    return {(False, False): ordered, (False, True): ordered.limit(bindparam("top", type_=Integer)),
            (True, False): country, (True, True): country}


STATEMENTS = _corridor_statements()


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
            raise ODNoData(f"no {dataset} data loaded; run `mobtrack stats load` on a {source} file first")
        c = stats_corridor.c
        year = q.year
        if year is None:
            year = conn.execute(select(func.max(c.year)).where(c.release_id == release.id, c.measure == measure)).scalar()
        params = {"release": release.id, "measure": measure, "year": year}
        if q.country:
            params["country"] = q.country.upper()
        if q.top:
            params["top"] = q.top
        stmt = STATEMENTS[bool(q.country), bool(q.top)]
        rows = conn.execute(stmt, params).all()
        if not rows:
            years = conn.execute(select(c.year).where(c.release_id == release.id, c.measure == measure)
                                 .distinct().order_by(c.year)).scalars().all()
            if year not in years:
                shown = f"{years[0]}-{years[-1]}" if years else "none"
                raise ODNoData(f"{source} has no {measure} for {year} (years loaded: {shown})")
        if q.country:
            rows = sorted(rows, key=lambda r: (-r[2], r[0], r[1]))[: q.top or None]
        # Built in one constructor from plain lists: on a busy machine a polars expression on a
        # 20-row frame can wait milliseconds for its thread pool, more than the query itself.
        n = len(rows)
        return pl.DataFrame(
            {"origin": [r[0] for r in rows], "destination": [r[1] for r in rows], "value": [r[2] for r in rows],
             "source": [f"{source}:{release.edition}"] * n, "period": [str(year) if year is not None else None] * n},
            schema=OD_COLUMNS)
    return fetch


register_od_source("undesa", corridor_fetcher("undesa", "undesa_stock", "migrant_stock", ("migrant_stock",)),
                   "UN DESA international migrant stock, origin x destination, mid-year")
register_od_source("worldbank", corridor_fetcher("worldbank", "worldbank_bilateral", "migrant_stock", ("migrant_stock",)),
                   "World Bank bilateral migration matrix")
register_od_source("unhcr", corridor_fetcher(
    "unhcr", "unhcr_population", "refugees",
    ("refugees", "asylum_seekers", "oip", "returned_refugees", "stateless", "ooc")),
    "UNHCR population by origin and country of asylum, end of year")
