"""Headline figures for any admin level, read from each round version's rolled-up figures block."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from mobtrack.analytics.rounds import RoundFilter, current_rounds
from mobtrack.store.places import hierarchy
from mobtrack.store.rounds import read_figures

FIGURE_COLUMNS = ["pcode", "name", "level", "value", "population_group", "unit", "operation", "assessment_type",
                  "round", "reporting_date", "source_value", "missing"]


def figures(conn: Connection, where: RoundFilter, level: int, group: str | None = "idps",
            unit: str | None = "individuals") -> pl.DataFrame:
    """Figures per place at `level` for every selected round (see RoundFilter), sorted by round then p-code.

    `source_value` is the source's own figure for the place when it gave one; where it differs
    from `value` (computed from the lowest level present) the source's levels disagree.
    """
    selected = current_rounds(conn, where)
    out = []
    for r in selected.iter_rows(named=True):
        block = read_figures(conn, r["version_id"]).filter(pl.col("admin_level") == level)
        if group:
            block = block.filter(pl.col("population_group") == group)
        if unit:
            block = block.filter(pl.col("unit") == unit)
        if block.is_empty():
            continue
        places = hierarchy(conn, r["country_iso3"]).select(
            pl.col("id").alias("location_id"), "pcode", "name")
        out.append(block.join(places, on="location_id", how="left").with_columns(
            pl.lit(r["operation"]).alias("operation"), pl.lit(r["assessment_type"]).alias("assessment_type"),
            pl.lit(r["round"]).alias("round"), pl.lit(r["reporting_date"], dtype=pl.Date).alias("reporting_date"),
            pl.col("admin_level").alias("level"),
        ).select(FIGURE_COLUMNS))
    if not out:
        return empty_figures()
    return pl.concat(out).sort(["operation", "assessment_type", "round", "pcode"])


def empty_figures() -> pl.DataFrame:
    return pl.DataFrame(schema={"pcode": pl.String, "name": pl.String, "level": pl.Int8, "value": pl.Int64,
                                "population_group": pl.String, "unit": pl.String, "operation": pl.String,
                                "assessment_type": pl.String, "round": pl.Int64, "reporting_date": pl.Date,
                                "source_value": pl.Int64, "missing": pl.Int32})


def disagreements(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows where the source's own figure differs from the one computed from lower levels."""
    return frame.filter(pl.col("source_value").is_not_null() & (pl.col("source_value") != pl.col("value")))
