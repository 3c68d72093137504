"""Flows: flow-monitoring aggregates, and origin-destination matrices from stored DTM rounds.

Two OD sources are registered with mobtrack.stats.od (so `mobtrack od --source dtm|fm` works):

- `fm`: flow monitoring (FMC counts and FMS surveys). Each stored `part` is people seen at a point
  in a month going from `origin_pcode` to `destination_pcode` (ISO3); surveys also name the origin
  and destination admin1 (`origin_name`, `destination_name`). Flows add up over months, so a date
  range sums every round in it.
- `dtm`: IDP origins (`origin_pcode`, e.g. DTM API v3 `idpOriginAdmin1Pcode`) against the place
  where the IDPs are. These are stocks, not flows: summing rounds would count people twice, so the
  matrix reads the latest round of each operation in the range.

The DTM side of country profiles (latest admin0 IDPs) and the DTM-vs-IDMC consistency check are
registered here too. All functions take a SQLAlchemy Connection and return Polars frames.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Connection

from mobtrack.analytics.figures import empty_figures, figures
from mobtrack.analytics.rounds import RoundFilter, current_rounds
from mobtrack.stats.od import OD_COLUMNS, ODError, ODQuery, register_od_source
from mobtrack.store.places import hierarchy
from mobtrack.store.rounds import read_observations

FLOW_TYPES = ("FMC", "FMS")
FLOW_COLUMNS = ["location_id", "role", "origin_pcode", "origin_name", "destination_pcode", "destination_name",
                "nationality", "transport", "direction", "value"]
FLOW_SCHEMA = {"country_iso3": pl.String, "operation": pl.String, "assessment_type": pl.String, "round": pl.Int64,
               "period": pl.String, "point_pcode": pl.String, "point": pl.String, "latitude": pl.Float64,
               "longitude": pl.Float64, "origin": pl.String, "origin_admin1": pl.String, "destination": pl.String,
               "destination_admin1": pl.String, "nationality": pl.String, "transport": pl.String,
               "direction": pl.String, "value": pl.Int64}


def _rounds(conn: Connection, country: str | None, types: tuple[str, ...], date_from: date | None,
            date_to: date | None) -> pl.DataFrame:
    rounds = current_rounds(conn, RoundFilter(country_iso3=country))
    rounds = rounds.filter(pl.col("assessment_type").is_in(list(types)))
    if date_from:
        rounds = rounds.filter(pl.col("reporting_date") >= date_from)
    if date_to:
        rounds = rounds.filter(pl.col("reporting_date") <= date_to)
    return rounds


def flow_records(conn: Connection, country: str | None = None, date_from: date | None = None,
                 date_to: date | None = None, types: tuple[str, ...] = FLOW_TYPES) -> pl.DataFrame:
    """Every flow-monitoring part in the selected rounds, one row per point x month x corridor.

    `country` is the country of the points (the round's country); `period` is the round's month
    (YYYY-MM). Breakdowns (survey sex x age) are left out: they re-count the same people."""
    return records_of(conn, _rounds(conn, country, types, date_from, date_to))


def records_of(conn: Connection, rounds: pl.DataFrame) -> pl.DataFrame:
    """`flow_records` of given rounds (rows of `current_rounds`: version_id, country_iso3, operation,
    assessment_type, round, reporting_date), e.g. only those a web visitor may see."""
    out, places = [], {}
    for r in rounds.iter_rows(named=True):
        obs = read_observations(conn, r["version_id"], FLOW_COLUMNS).filter(pl.col("role") == "part")
        if obs.is_empty():
            continue
        if r["country_iso3"] not in places:  # one gazetteer read per country, not per monthly round
            places[r["country_iso3"]] = hierarchy(conn, r["country_iso3"]).select(
                pl.col("id").alias("location_id"), pl.col("pcode").alias("point_pcode"),
                pl.col("name").alias("point"), "latitude", "longitude")
        out.append(obs.join(places[r["country_iso3"]], on="location_id", how="left").select(
            pl.lit(r["country_iso3"]).alias("country_iso3"), pl.lit(r["operation"]).alias("operation"),
            pl.lit(r["assessment_type"]).alias("assessment_type"), pl.lit(r["round"]).alias("round"),
            pl.lit(r["reporting_date"].strftime("%Y-%m")).alias("period"), "point_pcode", "point", "latitude",
            "longitude", pl.col("origin_pcode").alias("origin"), pl.col("origin_name").alias("origin_admin1"),
            pl.col("destination_pcode").alias("destination"),
            pl.col("destination_name").alias("destination_admin1"), "nationality", "transport", "direction",
            "value"))
    if not out:
        return pl.DataFrame(schema=FLOW_SCHEMA)
    return pl.concat(out, how="vertical_relaxed").select([pl.col(c).cast(t) for c, t in FLOW_SCHEMA.items()])


def _sum_by(flows: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return flows.group_by(keys).agg(pl.col("value").sum()).sort(["value", *keys], descending=[True] + [False] * len(keys))


def by_point(flows: pl.DataFrame) -> pl.DataFrame:
    """People counted per flow-monitoring point (with its coordinates, for a map of points)."""
    return _sum_by(flows, ["country_iso3", "point_pcode", "point", "latitude", "longitude"])


def by_period(flows: pl.DataFrame, per_point: bool = False) -> pl.DataFrame:
    """People counted per month (and point): a time series, oldest first."""
    keys = ["period", "country_iso3", "point"] if per_point else ["period"]
    return _sum_by(flows, keys).sort(keys)


def by_corridor(flows: pl.DataFrame, admin1: bool = False) -> pl.DataFrame:
    """People counted per origin -> destination (countries, or survey admin1 when `admin1`)."""
    keys = ["origin", "origin_admin1", "destination", "destination_admin1"] if admin1 else ["origin", "destination"]
    return _sum_by(flows, keys)


def by_nationality(flows: pl.DataFrame) -> pl.DataFrame:
    """People counted per nationality (surveys record it; counts do not, so those rows are null)."""
    return _sum_by(flows, ["nationality"])


def by_direction(flows: pl.DataFrame) -> pl.DataFrame:
    return _sum_by(flows, ["country_iso3", "direction"])


def _period_label(periods: pl.Series) -> str | None:
    periods = periods.drop_nulls()
    if periods.is_empty():
        return None
    lo, hi = periods.min(), periods.max()
    return lo if lo == hi else f"{lo}..{hi}"


def _finish(frame: pl.DataFrame, q: ODQuery, source: str, period: str | None) -> pl.DataFrame:
    """Sum to one row per corridor, keep the country's flows, cut to the top N: the OD contract."""
    if q.country and q.level == "country":
        c = q.country.upper()
        frame = frame.filter((pl.col("origin") == c) | (pl.col("destination") == c))
    out = (frame.group_by("origin", "destination").agg(pl.col("value").sum().cast(pl.Float64))
           .sort(["value", "origin", "destination"], descending=[True, False, False], nulls_last=True))
    if q.top:
        out = out.head(q.top)
    return out.with_columns(pl.lit(source).alias("source"), pl.lit(period, dtype=pl.String).alias("period")).select(
        [pl.col(c).cast(t) for c, t in OD_COLUMNS.items()])


def fm_od(conn: Connection, q: ODQuery) -> pl.DataFrame:
    """Flow-monitoring OD matrix: countries, or admin1 (surveys only) as `ISO3:admin1 name`."""
    if q.year is not None and (q.date_from or q.date_to):
        raise ODError("give --year or --from/--to, not both")
    start = q.date_from or (date(q.year, 1, 1) if q.year else None)
    end = q.date_to or (date(q.year, 12, 31) if q.year else None)
    if q.level not in ("country", "1"):
        raise ODError("flow monitoring records countries, and admin1 in surveys: use --level country or 1")
    # At admin level the country filter means "points in that country" (origins are abroad).
    flows = flow_records(conn, q.country.upper() if q.country and q.level != "country" else None, start, end)
    if flows.is_empty():
        raise ODError("no flow-monitoring rounds in the store for this selection; import a DTM flow-monitoring file")
    if q.level == "1":
        flows = at_admin1(flows)
        if flows.is_empty():
            raise ODError("these flow-monitoring rounds name countries only (counts); use --level country")
    return _finish(flows, q, FM_SOURCE, _period_label(flows["period"]))


FM_SOURCE = "dtm-flow-monitoring"


def at_admin1(flows: pl.DataFrame) -> pl.DataFrame:
    """Survey corridors keyed `ISO3:admin1 name` (rows that name no admin1 on either side are left out).
    Shared with the web's protected matrix, so both key corridors the same way."""
    flows = flows.filter(pl.col("origin_admin1").is_not_null() | pl.col("destination_admin1").is_not_null())
    return flows.with_columns(
        pl.concat_str(pl.col("origin").fill_null("?"), pl.lit(":"), pl.col("origin_admin1").fill_null("?"))
        .alias("origin"),
        pl.concat_str(pl.col("destination").fill_null("?"), pl.lit(":"),
                      pl.col("destination_admin1").fill_null("?")).alias("destination"))


# --- IDP origins (DTM baseline / API v3) -------------------------------------------------------

def ancestors(places: pl.DataFrame, level: int) -> pl.DataFrame:
    """Each location's ancestor (or itself) at `level`: {id, at_pcode, at_name}; null above the place."""
    tree = places.select("id", "pcode", "name", "admin_level", "parent_id")
    walk = tree.select("id", pl.col("id").alias("cur"))
    found = []
    for _ in range(7):  # admin0..5 plus a margin: the tree is never deeper
        step = walk.join(tree, left_on="cur", right_on="id", how="left")
        hit = step.filter(pl.col("admin_level") == level)
        found.append(hit.select("id", pl.col("pcode").alias("at_pcode"), pl.col("name").alias("at_name")))
        walk = step.filter((pl.col("admin_level") > level) & pl.col("parent_id").is_not_null()).select(
            "id", pl.col("parent_id").alias("cur"))
        if walk.is_empty():
            break
    return pl.concat(found).unique("id")


def _level(level: str) -> int:
    return {"country": 0, "1": 1, "2": 2}.get(str(level), -1)


def dtm_od(conn: Connection, q: ODQuery) -> pl.DataFrame:
    """IDP origin -> current location, at admin0/1/2, from the latest round of each operation."""
    level = _level(q.level)
    if level < 0:
        raise ODError("use --level country, 1 or 2")
    rounds = current_rounds(conn, RoundFilter(country_iso3=q.country))
    rounds = rounds.filter(~pl.col("assessment_type").is_in(list(FLOW_TYPES)))
    if q.year is not None:
        rounds = rounds.filter(pl.col("reporting_date").dt.year() == q.year)
    if q.date_from:
        rounds = rounds.filter(pl.col("reporting_date") >= q.date_from)
    if q.date_to:
        rounds = rounds.filter(pl.col("reporting_date") <= q.date_to)
    rounds = rounds.sort(["operation", "reporting_date", "round"]).group_by("operation", maintain_order=True).last()
    parts, dates = [], []
    for r in rounds.iter_rows(named=True):
        obs = read_observations(conn, r["version_id"], ["location_id", "role", "population_group", "unit",
                                                        "origin_pcode", "origin_name", "value"])
        # People only: a round that also gives households must not add them to individuals.
        obs = obs.filter(pl.col("origin_pcode").is_not_null() & (pl.col("role") != "breakdown")
                         & (pl.col("population_group") == "idps") & (pl.col("unit") == "individuals"))
        if obs.is_empty():
            continue
        iso3 = r["country_iso3"]
        if level == 0:
            obs = obs.with_columns(pl.lit(iso3).alias("origin"), pl.lit(iso3).alias("destination"))
        else:
            up = ancestors(hierarchy(conn, iso3), level)
            by_code = hierarchy(conn, iso3).select(pl.col("pcode").alias("origin_pcode"), pl.col("id").alias("_oid"))
            by_code = by_code.unique("origin_pcode")
            obs = (obs.join(up.select(pl.col("id").alias("location_id"), pl.col("at_pcode").alias("destination")),
                            on="location_id", how="left")
                   .join(by_code, on="origin_pcode", how="left")
                   .join(up.select(pl.col("id").alias("_oid"), pl.col("at_pcode").alias("_origin_up")), on="_oid",
                         how="left")
                   # an origin coded above the asked level (admin1 origins in an admin2 matrix) stays as coded
                   .with_columns(pl.coalesce("_origin_up", "origin_pcode").alias("origin")))
        parts.append(obs.select("origin", "destination", "value"))
        dates.append(r["reporting_date"].isoformat())
    if not parts:
        raise ODError("no stored DTM round carries IDP origins (origin_pcode) for this selection")
    period = dates[0] if len(set(dates)) == 1 else f"{min(dates)}..{max(dates)}"
    frame = pl.concat(parts).filter(pl.col("destination").is_not_null())
    return _finish(frame, ODQuery(**{**q.__dict__, "country": None}), "dtm", period)


register_od_source("fm", fm_od, "DTM flow monitoring: people counted at flow-monitoring points, origin -> destination")
register_od_source("dtm", dtm_od, "DTM IDP origins (e.g. API v3 idpOriginAdmin1) -> place of displacement, "
                                  "latest round per operation")


def fm_change(conn: Connection, before: tuple[date, date], after: tuple[date, date], country: str | None = None,
              level: str = "country") -> pl.DataFrame:
    """Corridor by corridor, people counted in two periods and the change (largest change first)."""
    from mobtrack.stats.od import change

    frames = [fm_od(conn, ODQuery(date_from=a, date_to=b, country=country, level=level)) for a, b in (before, after)]
    return change(*frames)


# --- the DTM side of country profiles and of the cross-source checks -----------------------------

DTM_IDP_DEFINITION = ("IDPs counted by DTM in its latest round for the country (admin0 figure, rolled up from "
                      "the assessed places): only the areas the round covered, on its reporting date.")


def _idp_figures(conn: Connection, iso3: str, latest: bool) -> pl.DataFrame:
    """Admin0 IDP figures of the country's rounds, flow-monitoring rounds left out before any block is
    read (a country can have hundreds of monthly flow rounds and no IDPs in them)."""
    types = current_rounds(conn, RoundFilter(country_iso3=iso3))["assessment_type"].unique().to_list()
    frames = [figures(conn, RoundFilter(country_iso3=iso3, assessment_type=t, latest=latest), 0)
              for t in sorted(types) if t not in FLOW_TYPES]
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_figures()
    return pl.concat(frames).filter(pl.col("value").is_not_null())


def dtm_admin0_idps(conn: Connection, iso3: str, year: int | None = None) -> pl.DataFrame:
    """Per operation, the latest round's admin0 IDP figure (not after `year`): operation, round, date, value."""
    iso3 = iso3.upper()
    if year is None:
        return _idp_figures(conn, iso3, latest=True)
    # latest round per operation among those reported up to `year`
    frame = _idp_figures(conn, iso3, latest=False).filter(pl.col("reporting_date").dt.year() <= year)
    return frame.sort(["operation", "reporting_date", "round"]).group_by("operation", maintain_order=True).last()


def dtm_idps(conn: Connection, iso3: str, year: int | None) -> dict | None:
    """Profile figure: the newest DTM admin0 IDP figure. Operations are not added together (two
    operations in one country usually overlap); the newest one is shown and the others listed."""
    frame = dtm_admin0_idps(conn, iso3, year)
    if frame.is_empty():
        return None
    frame = frame.sort(["reporting_date", "value"], descending=True)
    best = frame.row(0, named=True)
    return {"value": float(best["value"]), "year": best["reporting_date"].year,
            "source": f"DTM {best['operation']} ({best['assessment_type']}) round {best['round']}",
            "definition": DTM_IDP_DEFINITION,
            "ref": {"operation": best["operation"], "assessment_type": best["assessment_type"],
                    "round": best["round"], "reporting_date": best["reporting_date"].isoformat(),
                    "admin_level": 0},
            "other_operations": [{"operation": r["operation"], "round": r["round"], "value": float(r["value"]),
                                  "reporting_date": r["reporting_date"].isoformat()} for r in frame.iter_rows(named=True)][1:]}


def dtm_vs_idmc(conn: Connection):
    """DTM's latest admin0 IDPs of each year vs IDMC's stock for the same country and year."""
    from mobtrack.stats.consistency import _by_country, compare
    from mobtrack.stats.releases import current_release

    release = current_release(conn, "idmc_stock")
    countries = current_rounds(conn, RoundFilter())["country_iso3"].unique().to_list()
    if release is None or not countries:
        return None
    rows = []
    for iso3 in countries:
        frame = _idp_figures(conn, iso3, latest=False)
        if frame.is_empty():
            continue
        # per year, the newest round of that year (DTM's position at the date closest to IDMC's 31 December)
        rows.append(frame.with_columns(pl.col("reporting_date").dt.year().cast(pl.Int32).alias("year"))
                    .sort("reporting_date").group_by("year").last()
                    .select(pl.lit(iso3).alias("country"), "year", pl.col("value").cast(pl.Float64)))
    if not rows:
        return None
    return compare("dtm_vs_idmc", pl.concat(rows), _by_country(conn, release, "idps"), "DTM (latest round of the year)",
                   release.label, "DTM counts the areas its rounds assess on the round's date; IDMC estimates all "
                   "conflict and disaster IDPs in the country on 31 December. DTM is usually lower where coverage "
                   "is partial, and can be higher where IDMC discounts returns or protracted cases.")


def _register_stats_hooks() -> None:
    from mobtrack.stats.consistency import register_check
    from mobtrack.stats.profiles import register_idp_source

    register_idp_source("dtm", dtm_idps)
    register_check("dtm_vs_idmc", dtm_vs_idmc, "DTM's latest admin0 IDPs vs IDMC's stock, same country and year")


_register_stats_hooks()
