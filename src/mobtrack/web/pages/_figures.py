"""What a page may show to whom, through the service layer the API uses (mobtrack.web.services).

Pages never read counts from the store themselves: every figure comes from `services.figures.figures`,
which shows anonymous visitors published rounds only and passes every figure of users without
`read-unprotected` through small-cell suppression over the whole operation (all admin levels and
rounds at once), so the map, the totals, the trend and the top places never disagree about what is
hidden. This module only reshapes those rows for templates.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, select

from mobtrack.store.places import hierarchy
from mobtrack.store.schema import location
from mobtrack.web.errors import ApiError
from mobtrack.web.services import catalogue
from mobtrack.web.services import figures as service
from mobtrack.web.services.catalogue import View
from mobtrack.web.services.principal import Principal
from mobtrack.web.services.protection import threshold

GROUP, UNIT = "idps", "individuals"
LEVEL_COLUMNS = {"pcode": pl.String, "name": pl.String, "level": pl.Int8, "round": pl.Int64,
                 "reporting_date": pl.Date, "value": pl.Int64, "suppressed": pl.Boolean}
CATEGORY_COLUMNS = {"category": pl.String, "value": pl.Int64, "suppressed": pl.Boolean}

__all__ = ["View", "breakdown", "find_view", "level_figures", "operations", "rounds", "site_figures", "threshold"]


def operations(conn: Connection, principal: Principal) -> list[View]:
    """Views of the operations that have at least one round this visitor may see."""
    return [catalogue.view_of(principal, o["name"], o["country_iso3"]) for o in catalogue.operations(conn, principal)]


def find_view(conn: Connection, principal: Principal, name: str) -> View | None:
    try:
        found = catalogue.find_operation(conn, principal, name)
    except ApiError:
        return None  # unknown and not visible answer alike: no existence leak
    return catalogue.view_of(principal, found["name"], found["country_iso3"])


def rounds(conn: Connection, view: View, assessment_type: str | None = None) -> pl.DataFrame:
    """Visible rounds, oldest first (round, assessment_type, status, reporting_date, version_id...)."""
    return catalogue.rounds(conn, view, assessment_type).sort(["reporting_date", "round"], nulls_last=False)


def level_figures(conn: Connection, view: View, assessment_type: str, levels=(0, 1, 2),
                  group: str = GROUP, unit: str = UNIT) -> pl.DataFrame:
    """Figures at `levels` for every visible round of one assessment type:
    pcode, name, level, round, reporting_date, value (null when suppressed), suppressed."""
    parts = []
    for level in levels:
        rows, _ = service.figures(conn, view, level, group, unit, assessment_type=assessment_type)
        parts.append(rows.select([pl.col(c).cast(t) for c, t in LEVEL_COLUMNS.items()]))
    return pl.concat(parts).sort(["level", "round", "pcode"]) if parts else pl.DataFrame(schema=LEVEL_COLUMNS)


def breakdown(conn: Connection, view: View, assessment_type: str, round_number: int, dimension: str,
              level: int = 0, pcode: str | None = None, group: str = GROUP, unit: str = UNIT) -> pl.DataFrame:
    """People by one dimension (sex, age band, reason...) in one round, for the country (level 0) or one
    place: category, value (null when suppressed), suppressed; largest first."""
    rows, _ = service.figures(conn, view, level, group, unit, round_number=round_number,
                              assessment_type=assessment_type, disaggregation=dimension)
    if pcode is not None:
        rows = rows.filter(pl.col("pcode") == pcode)
    if rows.is_empty():
        return pl.DataFrame(schema=CATEGORY_COLUMNS)
    return (rows.group_by(pl.col(dimension).alias("category"))
            .agg(pl.col("value").sum().alias("value"), pl.col("suppressed").any())
            .with_columns(pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"))
            .select([pl.col(c).cast(t) for c, t in CATEGORY_COLUMNS.items()])
            .sort(["value", "category"], descending=[True, False], nulls_last=True))


def descendants(conn: Connection, country_iso3: str, pcode: str) -> set[str]:
    """P-codes of every place below `pcode` (any boundary version), for 'sites below this place'."""
    places = hierarchy(conn, country_iso3).select("pcode", "parent_pcode")
    found, frontier = set(), {pcode}
    while frontier:  # a few levels at most; each step is one vectorised filter
        frontier = set(places.filter(pl.col("parent_pcode").is_in(list(frontier)))["pcode"].to_list()) - found
        found |= frontier
    return found


def site_figures(conn: Connection, view: View, assessment_type: str, round_number: int, pcode: str,
                 group: str = GROUP, unit: str = UNIT) -> pl.DataFrame:
    """Sites and villages (level 5) below a place in one round: pcode, name, value, suppressed, site_type."""
    rows, _ = service.figures(conn, view, 5, group, unit, round_number=round_number, assessment_type=assessment_type)
    if rows.is_empty():
        return rows.select("pcode", "name", "value", "suppressed", pl.lit(None, pl.String).alias("site_type"))
    below = list(descendants(conn, view.country_iso3, pcode))
    sites = rows.filter(pl.col("pcode").is_in(below)).select("pcode", "name", "value", "suppressed")
    # The site type (camp, collective centre, host community...) is an attribute of the place, not a count.
    types = conn.execute(select(location.c.pcode, location.c.site_type).where(
        location.c.country_iso3 == view.country_iso3, location.c.pcode.in_(sites["pcode"].to_list() or ["-"]),
        location.c.site_type.is_not(None))).all()
    kinds = pl.DataFrame(types, schema={"pcode": pl.String, "site_type": pl.String}, orient="row").unique("pcode")
    return (sites.join(kinds, on="pcode", how="left")
            .sort(["value", "name"], descending=[True, False], nulls_last=True))
