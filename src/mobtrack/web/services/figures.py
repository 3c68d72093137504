"""Figures, time series and round-over-round change, protected for whoever is not allowed raw counts.

Every row carries its provenance (HDX HAPI style): operation, assessment type, round, round version,
reporting date and period, and the source file the round version was read from.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from mobtrack.model.records import DISAGGREGATIONS
from mobtrack.web.errors import ApiError
from mobtrack.web.services import catalogue, protection
from mobtrack.web.services.cache import Sliced
from mobtrack.web.services.catalogue import View
from mobtrack.web.services.data import figures_at, figures_of, observations_of, places_of

DIMENSIONS = [d for d in DISAGGREGATIONS if not d.endswith("_name")]
PROVENANCE = ["operation", "assessment_type", "round", "round_version", "reporting_date", "period_start",
              "period_end", "source_file"]


def _provenance(rounds: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame([rounds[c].alias("round_version") if c == "version" else rounds[c] for c in (
        "operation", "assessment_type", "round", "version", "reporting_date", "period_start", "period_end",
        "source_file", "version_id")])


def _constant(frame: pl.DataFrame, values: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the columns of the one-row `values` repeated on every row.

    What a join on a one-row frame or `with_columns(pl.lit(...))` gives, without building a query:
    those cost a few hundred microseconds each, per request, on frames of a hundred rows."""
    return frame.hstack([column.new_from_index(0, frame.height) for column in values.get_columns()])


def _with_provenance(rows: pl.DataFrame, rounds: pl.DataFrame) -> pl.DataFrame:
    if rounds.height == 1:  # the usual request: one round (whose rows `rows` are)
        # (the columns picked by hand: DataFrame.drop plans a query, a few hundred microseconds)
        return _constant(pl.DataFrame([c for c in rows.get_columns() if c.name != "round"]), _provenance(rounds))
    return rows.join(_provenance(rounds), on="round")


def _leaf_figures(conn: Connection, rounds: pl.DataFrame, places: pl.DataFrame, group: str, unit: str):
    """Figures of every visible round at the lowest level of each branch (the protected table's input)."""
    parts = []
    for r in rounds.iter_rows(named=True):
        f = figures_of(conn, r["version_id"]).filter(pl.col("population_group") == group, pl.col("unit") == unit)
        parents = f.join(places.select(pl.col("id").alias("location_id"), "parent_id"), on="location_id")["parent_id"]
        parts.append(f.filter(~pl.col("location_id").is_in(parents.drop_nulls().implode()))
                     .select("location_id", pl.lit(r["round"], pl.Int64).alias("round"), "value"))
    return pl.concat(parts) if parts else pl.DataFrame(schema={"location_id": pl.Int64, "round": pl.Int64,
                                                                "value": pl.Int64})


def _leaf_breakdown(conn: Connection, rounds: pl.DataFrame, places: pl.DataFrame, group: str, unit: str,
                    dimension: str):
    """Counts by one disaggregation at the deepest places that carry it, per visible round."""
    parts = []
    for r in rounds.iter_rows(named=True):
        obs = observations_of(conn, r["version_id"]).filter(
            pl.col("population_group") == group, pl.col("unit") == unit, pl.col(dimension).is_not_null(),
            pl.col("location_id").is_not_null(), pl.col("role") != "total")
        # A disaggregation is either a partition of the figure (parts) or a breakdown of it; never both.
        if obs.filter(pl.col("role") == "breakdown").height and dimension in ("sex", "age_band"):
            obs = obs.filter(pl.col("role") == "breakdown")
        else:
            obs = obs.filter(pl.col("role") == "part")
        cells = obs.group_by("location_id", dimension).agg(pl.col("value").sum())
        ancestors = places.filter(pl.col("id").is_in(cells["location_id"].unique().implode()))
        parents = ancestors["parent_id"].drop_nulls().implode()
        parts.append(cells.filter(~pl.col("location_id").is_in(parents))
                     .with_columns(pl.lit(r["round"], pl.Int64).alias("round")))
    if not parts:
        return pl.DataFrame(schema={"location_id": pl.Int64, dimension: pl.String, "value": pl.Int64,
                                    "round": pl.Int64})
    return pl.concat(parts, how="vertical_relaxed")


def _stored(conn: Connection, rounds: pl.DataFrame, level: int, group: str, unit: str) -> pl.DataFrame:
    parts = [_constant(figures_at(conn, version_id, level, group, unit)[["location_id", "admin_level", "value"]],
                       pl.DataFrame({"round": [number], "suppressed": [False]},
                                    schema={"round": pl.Int64, "suppressed": pl.Boolean}))
             for version_id, number in zip(rounds["version_id"].to_list(), rounds["round"].to_list(), strict=True)]
    return pl.concat(parts) if parts else pl.DataFrame(schema={
        "location_id": pl.Int64, "admin_level": pl.Int8, "round": pl.Int64, "value": pl.Int64, "suppressed": pl.Boolean})


def _aggregate(leaves: pl.DataFrame, places: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    """Unprotected sums at every level, in the same shape protect_table returns."""
    levels = list(range(0, 6))
    table = protection._ancestors(leaves.select("location_id", "round", *dims, "value"), places, levels)
    out = []
    for lvl in levels:
        part = (table.filter(~pl.col(f"l{lvl}").str.starts_with(protection.GAP))
                .group_by(f"l{lvl}", "round", *dims).agg(pl.col("value").sum())
                .select(pl.col(f"l{lvl}").cast(pl.Int64).alias("location_id"), pl.lit(lvl, pl.Int8).alias(
                    "admin_level"), "round", *[pl.col(d).cast(pl.String) for d in dims], "value",
                    pl.lit(False).alias("suppressed")))
        out.append(part)
    return pl.concat(out)


def figures(conn: Connection, view: View, level: int, group: str = "idps", unit: str = "individuals",
            round_number: int | None = None, latest: bool = False, assessment_type: str | None = None,
            disaggregation: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows, selected rounds). Rows: pcode, name, level, [disaggregation], value, suppressed, provenance."""
    if disaggregation is not None and disaggregation not in DIMENSIONS:
        raise ApiError(400, f"unknown disaggregation {disaggregation!r}; one of {', '.join(DIMENSIONS)}")
    rounds_stamp, places_stamp = catalogue.stamps(conn, view.country_iso3)
    visible = catalogue.rounds(conn, view, assessment_type, rounds_stamp)
    selected = catalogue.pick_round(visible, round_number, latest, None)
    if selected.is_empty():
        return _empty(disaggregation), selected
    places = places_of(conn, view.country_iso3, places_stamp)
    dims = [disaggregation] if disaggregation else []
    out = []
    kinds = sorted(set(selected["assessment_type"].to_list()))
    # Slices of one round of a protected table come named and in the answer's order (see protect_table).
    presorted = len(kinds) == 1 and selected.height == 1
    # (filters on the round lists only when they hold several assessment types: a request is a few
    # milliseconds of work, and each polars filter costs a fifth of one)
    mixed = len(set(visible["assessment_type"].to_list())) > 1
    for kind in kinds:
        family = visible.filter(pl.col("assessment_type") == kind) if mixed else visible
        if disaggregation:
            def load(family=family):
                return _leaf_breakdown(conn, family, places, group, unit, disaggregation), places
        else:
            def load(family=family):
                return _leaf_figures(conn, family, places, group, unit), places
        rounds = selected.filter(pl.col("assessment_type") == kind) if len(kinds) > 1 else selected
        if view.unprotected and not dims:
            # Raw figures are stored rolled up per round version: read only the rounds asked for.
            table = _stored(conn, rounds, level, group, unit)
        elif view.unprotected:
            table = _aggregate(_leaf_breakdown(conn, rounds, places, group, unit, disaggregation), places, dims)
        else:
            # the places' stamp too: the table sums leaves up the hierarchy, which a gazetteer load can change
            key = (str(conn.engine.url), view.operation, kind, group, unit, tuple(family["version_id"].to_list()),
                   tuple(places_stamp))
            table = protection.protect_table(key, load, dims)
        if isinstance(table, Sliced):  # an operation's protected table: the level's rows of these rounds
            rows = table.rows(*[(level, number) for number in sorted(rounds["round"].to_list())])
        else:
            rows = table.filter(pl.col("admin_level") == level, pl.col("round").is_in(rounds["round"].implode()))
            presorted = False
        if dims:
            rows = rows.filter(pl.col(disaggregation).is_not_null() & (pl.col(disaggregation) != "~none"))
        out.append(_with_provenance(rows, rounds))
    frame = out[0] if len(out) == 1 else pl.concat(out, how="vertical_relaxed")
    if "pcode" not in frame.columns:  # raw figures: named here
        frame = frame.join(places.select(pl.col("id").alias("location_id"), "pcode", "name"), on="location_id",
                           how="left")
    frame = _constant(frame, pl.DataFrame({"population_group": [group], "unit": [unit]}))
    columns = ["pcode", "name", "admin_level", *dims, "value", "suppressed", "population_group", "unit", *PROVENANCE]
    frame = pl.DataFrame([frame[c].alias("level") if c == "admin_level" else frame[c] for c in columns])
    return (frame if presorted else frame.sort(["assessment_type", "round", "pcode", *dims])), selected


def _empty(disaggregation: str | None) -> pl.DataFrame:
    schema = {"pcode": pl.String, "name": pl.String, "level": pl.Int8}
    if disaggregation:
        schema[disaggregation] = pl.String
    schema |= {"value": pl.Int64, "suppressed": pl.Boolean, "population_group": pl.String, "unit": pl.String,
               "operation": pl.String, "assessment_type": pl.String, "round": pl.Int64, "round_version": pl.Int64,
               "reporting_date": pl.Date, "period_start": pl.Date, "period_end": pl.Date, "source_file": pl.String}
    return pl.DataFrame(schema=schema)


def series(conn: Connection, view: View, level: int, group: str = "idps", unit: str = "individuals",
           assessment_type: str | None = None, pcode: str | None = None) -> pl.DataFrame:
    frame, _ = figures(conn, view, level, group, unit, assessment_type=assessment_type)
    if pcode:
        frame = frame.filter(pl.col("pcode") == pcode)
    return frame.sort(["pcode", "assessment_type", "reporting_date", "round"])


def changes(conn: Connection, view: View, level: int, group: str = "idps", unit: str = "individuals",
            round_number: int | None = None, assessment_type: str | None = None) -> pl.DataFrame:
    """Each place's value, the previous round's and the change. A suppressed value gives no change."""
    frame, _ = figures(conn, view, level, group, unit, assessment_type=assessment_type)
    keys = ["assessment_type", "pcode"]
    ordered = frame.sort([*keys, "round"]).with_columns(
        pl.col("round").shift(1).over(keys).alias("previous_round"),
        pl.col("value").shift(1).over(keys).alias("previous_value"),
        pl.col("suppressed").shift(1).over(keys).alias("previous_suppressed"))
    # "Previous" is the previous visible round of the operation, not whatever round the place last had.
    rounds = frame.select("assessment_type", "round").unique().sort(["assessment_type", "round"]).with_columns(
        pl.col("round").shift(1).over("assessment_type").alias("_expected"))
    out = ordered.join(rounds, on=["assessment_type", "round"]).with_columns(
        pl.when(pl.col("previous_round") == pl.col("_expected")).then(pl.col("previous_value")).alias(
            "previous_value"),
    ).with_columns(
        (pl.col("value") - pl.col("previous_value")).alias("change"),
        pl.when(pl.col("previous_value") > 0).then(
            (pl.col("value") - pl.col("previous_value")) / pl.col("previous_value") * 100).alias("change_pct"),
        pl.col("_expected").alias("previous_round"),
    ).drop("_expected", "previous_suppressed")
    if round_number is not None:
        out = out.filter(pl.col("round") == round_number)
    return out.sort(["assessment_type", "round", "pcode"])
