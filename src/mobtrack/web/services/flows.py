"""Origin-destination flows as a caller may see them: the one door the flows page and /api/v1/od share.

Sources and what protects them:

- `fm` (DTM flow monitoring) and `dtm` (IDP origins) are DTM counts. Each operation is read as its
  viewer may see it (published rounds only for anonymous callers, scopes for the others), and
  unless the viewer may read raw figures every figure goes through `mobtrack.protect`'s public gate:
  - `fm`: one linked table per operation, protected once over all its visible months
    (`protected_fm_cells`): the point country, then the country corridor (origin -> destination), then
    the survey's admin1 corridor, by month, with the all-months total. So the country matrix, the
    admin1 matrix and the monthly and total figures are slices of one protected table and cannot be
    combined to undo a suppression.
  - `dtm`: the operation's figures by `origin_pcode` through `services.figures`: the very table
    /api/v1/operations/{op}/figures?disaggregation=origin_pcode publishes.
  A figure this module adds up from protected cells (months of a period, admin2 origins rolled up to
  admin1, several operations) is hidden when any of its parts is hidden: a sum of the shown parts
  alone would be silently wrong, and hiding it never reveals anything.
- `undesa`, `unhcr`, `worldbank` are published statistics: passed through as their sources publish them.

Every result has the OD contract's columns plus `suppressed` (value null where true). A corridor whose
origin or destination the source left empty is a corridor too: joins on the corridor keys match nulls.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date

import polars as pl
from sqlalchemy import Connection, select

from mobtrack.analytics import flows as analytics
from mobtrack.protect.cube import TableSpec
from mobtrack.stats.od import OD_SOURCES, ODError, ODNoData, ODQuery, od_matrix
from mobtrack.stats.releases import current_release
from mobtrack.stats.tables import stats_corridor
from mobtrack.web.errors import ApiError
from mobtrack.web.services import catalogue, protection
from mobtrack.web.services import figures as figure_service
from mobtrack.web.services.catalogue import View
from mobtrack.web.services.data import places_of
from mobtrack.web.services.principal import Principal

DTM_SOURCES = ("fm", "dtm")
STATS_DATASETS = {"undesa": ("undesa_stock", "migrant_stock"), "worldbank": ("worldbank_bilateral", "migrant_stock"),
                  "unhcr": ("unhcr_population", "refugees")}
ROWS = {"origin": pl.String, "destination": pl.String, "value": pl.Float64, "suppressed": pl.Boolean,
        "source": pl.String, "period": pl.String}
SEP = "\x1f"  # joins corridor keys inside the protected table; never in a code or an admin1 name


@dataclass
class Flows:
    rows: pl.DataFrame  # ROWS, one per corridor, largest first (hidden ones last)
    protected: bool = False  # some figure went through small-count suppression
    raw_operations: list[str] = field(default_factory=list)  # read unprotected (the caller audits them)


def sources() -> list[str]:
    return [s for s in ("fm", "dtm", "undesa", "unhcr", "worldbank") if s in OD_SOURCES]


def od(conn: Connection, principal: Principal, source: str, q: ODQuery) -> Flows:
    """The caller's OD matrix (top N applied last, over the shown corridors first)."""
    if source not in OD_SOURCES:
        raise ApiError(400, f"unknown source {source!r}; one of {', '.join(sources())}")
    if q.year is not None and (q.date_from or q.date_to):
        raise ApiError(400, "give year or from/to, not both")
    if source == "fm":
        result = _fm(conn, principal, q)
    elif source == "dtm":
        result = _dtm(conn, principal, q)
    else:
        try:
            frame = od_matrix(conn.engine, source, q)
        except ODError as exc:
            raise ApiError(404 if isinstance(exc, ODNoData) else 400, str(exc)) from exc
        result = Flows(frame.with_columns(pl.lit(False).alias("suppressed")).select(list(ROWS)))
    result.rows = _top(result.rows, q.top)
    return result


def _top(frame: pl.DataFrame, top: int | None) -> pl.DataFrame:
    # Hidden corridors sort last: their place in the order must not hint at their size.
    out = frame.sort(["value", "origin", "destination"], descending=[True, False, False], nulls_last=True)
    return out.head(top) if top else out


def _finish(cells: pl.DataFrame, q: ODQuery, source: str, period: str | None) -> pl.DataFrame:
    """Cells (origin, destination, value, suppressed) summed per corridor; hidden if any part is."""
    if q.country and q.level == "country":
        c = q.country.upper()
        cells = cells.filter((pl.col("origin") == c) | (pl.col("destination") == c))
    out = cells.group_by("origin", "destination").agg(pl.col("value").sum().cast(pl.Float64),
                                                       pl.col("suppressed").any())
    # A protected table lists every category at every place, zeros included: a corridor nobody used is
    # not a corridor (and `mobtrack od` does not list it either).
    out = out.filter(pl.col("suppressed") | (pl.col("value") != 0))
    return out.with_columns(
        pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"),
        pl.lit(source).alias("source"), pl.lit(period, dtype=pl.String).alias("period"),
    ).select([pl.col(c).cast(t) for c, t in ROWS.items()])


def _views(conn: Connection, principal: Principal, rounds: pl.DataFrame) -> list[tuple[View, pl.DataFrame]]:
    """Per operation in `rounds`, the caller's view and the rounds of it they may see."""
    out = []
    for name in rounds["operation"].unique().sort().to_list():
        try:
            found = catalogue.find_operation(conn, principal, name)
        except ApiError:
            continue  # not visible to this caller: as if it did not exist
        view = catalogue.view_of(principal, found["name"], found["country_iso3"])
        visible = catalogue.rounds(conn, view).filter(pl.col("version_id").is_in(rounds["version_id"].implode()))
        if visible.height:
            out.append((view, visible))
    return out


def _in_range(rounds: pl.DataFrame, start: date | None, end: date | None) -> pl.DataFrame:
    if start:
        rounds = rounds.filter(pl.col("reporting_date") >= start)
    if end:
        rounds = rounds.filter(pl.col("reporting_date") <= end)
    return rounds


def _bounds(q: ODQuery) -> tuple[date | None, date | None]:
    start = q.date_from or (date(q.year, 1, 1) if q.year else None)
    end = q.date_to or (date(q.year, 12, 31) if q.year else None)
    return start, end


def _period(rounds: pl.DataFrame) -> str | None:
    if rounds.is_empty():
        return None
    lo, hi = (d.strftime("%Y-%m") for d in (rounds["reporting_date"].min(), rounds["reporting_date"].max()))
    return lo if lo == hi else f"{lo}..{hi}"


def month(text: str | None, last: bool = False) -> date | None:
    """`YYYY-MM` (the month input's value) or `YYYY-MM-DD`; a month means its first or last day."""
    if not text:
        return None
    try:
        if len(text) == 7:
            y, m = (int(p) for p in text.split("-"))
            return date(y, m, calendar.monthrange(y, m)[1] if last else 1)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(400, f"not a month or a date: {text!r} (use YYYY-MM)") from exc


def year(text: str | None) -> int | None:
    if not text:
        return None
    if not text.strip().isdigit() or not 1000 <= int(text) <= 9999:
        raise ApiError(400, f"not a year: {text!r}")
    return int(text)


# --- flow monitoring ---------------------------------------------------------------------------

def _flow_rounds(conn: Connection, country: str | None) -> pl.DataFrame:
    rounds = analytics.current_rounds(conn, analytics.RoundFilter(country_iso3=country))
    return rounds.filter(pl.col("assessment_type").is_in(list(analytics.FLOW_TYPES)))


def _keys(records: pl.DataFrame) -> pl.DataFrame:
    """Corridor keys for the protected table: country pair, and country + admin1 pair below it."""
    def part(col):
        return pl.col(col).fill_null("")
    return records.with_columns(
        pl.concat_str(part("origin"), pl.lit(SEP), part("destination")).alias("corridor"),
        pl.concat_str(part("origin"), pl.lit(SEP), part("origin_admin1"), pl.lit(SEP), part("destination"), pl.lit(SEP),
                      part("destination_admin1")).alias("detail"))


def protected_fm_cells(conn: Connection, view: View, rounds: pl.DataFrame) -> pl.DataFrame:
    """One operation's flow-monitoring corridors over all its visible months, small counts suppressed.

    Returns `level` (2 = country corridor, 3 = admin1 corridor), `corridor`, `detail` (null at level 2),
    `round` (null = total of all the visible months), `value` (null where suppressed), `suppressed`.
    Points are summed before protection: no page or API publishes a corridor at a single point."""
    def load() -> tuple[pl.DataFrame, TableSpec]:
        records = _keys(analytics.records_of(conn, rounds)).filter(pl.col("value").is_not_null())
        leaves = records.select(pl.lit(view.country_iso3).alias("country"), "corridor", "detail", "round", "value")
        spec = TableSpec(hierarchy=["country", "corridor", "detail"], round="round", round_kind="flow",
                         round_total=True, threshold=protection.threshold(), grand_total=False)
        return leaves, spec

    key = ("fm-od", str(conn.engine.url), view.operation, tuple(rounds["version_id"].sort().to_list()))
    out = protection.protect_cells(key, load)
    if out.is_empty():
        return pl.DataFrame(schema={"level": pl.Int8, "corridor": pl.String, "detail": pl.String, "round": pl.Int64,
                                    "value": pl.Int64, "suppressed": pl.Boolean})
    return out.filter(pl.col("level") >= 2).select(
        pl.col("level").cast(pl.Int8), "corridor", "detail", pl.col("round").cast(pl.Int64),
        pl.col("value").cast(pl.Int64), "suppressed")


def _decode(frame: pl.DataFrame, column: str, names: list[str]) -> pl.DataFrame:
    parts = pl.col(column).str.split(SEP)
    return frame.with_columns([pl.when(parts.list.get(i) == "").then(None).otherwise(parts.list.get(i)).alias(n)
                               for i, n in enumerate(names)])


def _fm_cells(conn: Connection, view: View, visible: pl.DataFrame, chosen: pl.DataFrame, level: str) -> pl.DataFrame:
    """origin, origin_admin1, destination, destination_admin1, value, suppressed for the chosen months."""
    if view.unprotected:
        raw = analytics.records_of(conn, chosen).filter(pl.col("value").is_not_null())
        return raw.select("origin", "origin_admin1", "destination", "destination_admin1", "value",
                          pl.lit(False).alias("suppressed"))
    cells = protected_fm_cells(conn, view, visible)
    cells = cells.filter(pl.col("level") == (3 if level == "1" else 2))
    if chosen.height == visible.height:  # the whole visible history: its own protected total
        cells = cells.filter(pl.col("round").is_null())
    else:
        cells = cells.filter(pl.col("round").is_in(chosen["round"].implode()))
    if level == "1":
        cells = _decode(cells, "detail", ["origin", "origin_admin1", "destination", "destination_admin1"])
    else:
        cells = _decode(cells, "corridor", ["origin", "destination"]).with_columns(
            pl.lit(None, pl.String).alias("origin_admin1"), pl.lit(None, pl.String).alias("destination_admin1"))
    return cells.select("origin", "origin_admin1", "destination", "destination_admin1", "value", "suppressed")


def _fm(conn: Connection, principal: Principal, q: ODQuery) -> Flows:
    if q.level not in ("country", "1"):
        raise ApiError(400, "flow monitoring records countries, and admin1 in surveys: use level country or 1")
    # As in `mobtrack od`: at admin level the country means "points in that country".
    country = q.country.upper() if q.country and q.level != "country" else None
    start, end = _bounds(q)
    parts, used, protected, raw = [], [], False, []
    for view, visible in _views(conn, principal, _flow_rounds(conn, country)):
        chosen = _in_range(visible, start, end)
        if chosen.is_empty():
            continue
        cells = _fm_cells(conn, view, visible, chosen, q.level)
        if q.level == "1":
            cells = analytics.at_admin1(cells)
        parts.append(cells.select("origin", "destination", pl.col("value").cast(pl.Float64), "suppressed"))
        used.append(chosen)
        protected |= not view.unprotected
        if view.unprotected:
            raw.append(view.operation)
    cells = pl.concat(parts) if parts else pl.DataFrame(schema={"origin": pl.String, "destination": pl.String,
                                                                  "value": pl.Float64, "suppressed": pl.Boolean})
    period = _period(pl.concat(used, how="vertical_relaxed")) if used else None
    return Flows(_finish(cells, q, analytics.FM_SOURCE, period), protected, raw)


# --- IDP origins -------------------------------------------------------------------------------

def _dtm(conn: Connection, principal: Principal, q: ODQuery) -> Flows:
    level = {"country": 0, "1": 1, "2": 2}.get(str(q.level))
    if level is None:
        raise ApiError(400, "use level country, 1 or 2")
    start, end = _bounds(q)
    rounds = analytics.current_rounds(conn, analytics.RoundFilter(country_iso3=q.country))
    rounds = rounds.filter(~pl.col("assessment_type").is_in(list(analytics.FLOW_TYPES)))
    parts, dates, protected, raw = [], [], False, []
    for view, visible in _views(conn, principal, rounds):
        chosen = _in_range(visible, start, end)
        if chosen.is_empty():
            continue
        # IDPs are a stock: the latest round of the operation, never a sum of rounds (as `mobtrack od`).
        latest = chosen.sort(["reporting_date", "round"]).row(-1, named=True)
        frame, _ = figure_service.figures(conn, view, level, round_number=latest["round"],
                                          assessment_type=latest["assessment_type"], disaggregation="origin_pcode")
        if frame.is_empty():
            continue
        cells = frame.select(pl.col("pcode").alias("destination"), pl.col("origin_pcode").alias("origin"),
                             pl.col("value").cast(pl.Float64), "suppressed")
        if level == 0:
            cells = cells.with_columns(pl.lit(view.country_iso3).alias("origin"),
                                       pl.lit(view.country_iso3).alias("destination"))
        else:
            places = places_of(conn, view.country_iso3)
            # one row per p-code: several boundary versions may hold the same code
            up = analytics.ancestors(places, level).join(places.select("id", "pcode"), on="id").unique("pcode")
            cells = (cells.join(up.select(pl.col("pcode").alias("origin"), pl.col("at_pcode")), on="origin", how="left")
                     .with_columns(pl.coalesce("at_pcode", "origin").alias("origin")).drop("at_pcode"))
        parts.append(cells.select("origin", "destination", "value", "suppressed"))
        dates.append(latest["reporting_date"].isoformat())
        protected |= not view.unprotected
        if view.unprotected:
            raw.append(view.operation)
    if not parts:
        raise ApiError(404, "no round you may see carries IDP origins for this selection")
    period = dates[0] if len(set(dates)) == 1 else f"{min(dates)}..{max(dates)}"
    cells = pl.concat(parts)
    return Flows(_finish(cells, replace(q, country=None), "dtm", period), protected, raw)


# --- net flows and change between periods -------------------------------------------------------

def _beside(rows: pl.DataFrame, other: pl.DataFrame, value: str, difference: str) -> pl.DataFrame:
    """`rows` with the same corridor's value in `other` (absent = 0) and `value - other`; both null where
    either side is hidden, so no hidden cell can be recovered by subtraction."""
    o = other.select("origin", "destination", pl.col("value").alias(value), pl.col("suppressed").alias("_os"))
    out = rows.join(o, on=["origin", "destination"], how="left", nulls_equal=True)
    other_hidden = pl.col("_os").fill_null(False)
    return out.with_columns(
        pl.when(other_hidden).then(None).otherwise(pl.col(value).fill_null(0)).alias(value),
        pl.when(pl.col("suppressed") | other_hidden).then(None)
        .otherwise(pl.col("value") - pl.col(value).fill_null(0)).alias(difference),
    ).drop("_os")


def net(rows: pl.DataFrame) -> pl.DataFrame:
    """Per corridor, the reverse corridor's value and the net (value - reverse); null if either is hidden.
    A reverse corridor absent from the matrix counted nobody: 0."""
    back = rows.with_columns(pl.col("destination").alias("origin"), pl.col("origin").alias("destination"))
    return _beside(rows, back, "reverse", "net")


def change(after: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """`after`'s corridors with the value in the compared period and the change (absent = 0)."""
    return _beside(after, before, "before", "change")


def previous_period(conn: Connection, source: str, q: ODQuery) -> ODQuery | None:
    """The period a view compares with by default: the year loaded before (statistics), the same
    length of time just before (flow monitoring), none when the period is everything."""
    if source in STATS_DATASETS:
        dataset, default = STATS_DATASETS[source]
        release = current_release(conn, dataset, q.edition)
        if release is None:
            return None
        c = stats_corridor.c
        years = conn.execute(select(c.year).where(c.release_id == release.id, c.measure == (q.measure or default))
                             .distinct().order_by(c.year)).scalars().all()
        year = q.year if q.year is not None else (years[-1] if years else None)
        earlier = [y for y in years if year is not None and y < year]
        return replace(q, year=earlier[-1], top=None) if earlier else None
    if q.year is not None:
        return replace(q, year=q.year - 1, top=None)
    if q.date_from and q.date_to:
        # the same number of calendar months, ending the day before the period starts
        months = (q.date_to.year * 12 + q.date_to.month) - (q.date_from.year * 12 + q.date_from.month) + 1
        first = q.date_from.year * 12 + q.date_from.month - 1 - months
        if months < 1 or not 1 <= first // 12 <= 9999:  # `to` before `from`, or no calendar year before (a 500)
            return None
        start = date(first // 12, first % 12 + 1, min(q.date_from.day, 28))
        return replace(q, date_from=start, date_to=date.fromordinal(q.date_from.toordinal() - 1), top=None)
    return None


def corridors(conn: Connection, principal: Principal, source: str, q: ODQuery,
              compare: ODQuery | None = None) -> tuple[Flows, pl.DataFrame, ODQuery | None]:
    """(the whole matrix, its top N corridors with reverse, net, before and change, the compared period)."""
    full = od(conn, principal, source, replace(q, top=None))
    table = net(full.rows)
    if compare is None:
        compare = previous_period(conn, source, q)
    if compare is not None:
        try:
            before = od(conn, principal, source, replace(compare, top=None))
            table = change(table, before.rows)
            full.protected |= before.protected
            full.raw_operations = sorted(set(full.raw_operations) | set(before.raw_operations))
        except ApiError as exc:
            if exc.status not in (400, 404):
                raise
            compare = None  # nothing to compare with (no data then): the change columns stay empty
    if compare is None:
        table = table.with_columns(pl.lit(None, pl.Float64).alias("before"), pl.lit(None, pl.Float64).alias("change"))
    top = _top(full.rows, q.top)
    table = top.select("origin", "destination").join(table, on=["origin", "destination"], how="left",
                                                     nulls_equal=True, maintain_order="left")
    return full, table, compare
