"""Round-over-round change per place, and time series per place and level."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from mobtrack.analytics.figures import figures
from mobtrack.analytics.rounds import RoundFilter


def changes(conn: Connection, where: RoundFilter, level: int, group: str = "idps",
            unit: str = "individuals") -> pl.DataFrame:
    """For each round, each place's value, the previous round's value and the change.

    Rounds are compared within one operation and assessment type. A place missing from the previous
    round has a null previous value (not zero: absence of data is not absence of people).
    """
    frame = figures(conn, RoundFilter(**{**where.__dict__, "round_number": None, "latest": False}), level, group, unit)
    keys = ["operation", "assessment_type"]
    rounds = frame.select([*keys, "round"]).unique().sort([*keys, "round"]).with_columns(
        pl.col("round").shift(1).over(keys).alias("previous_round"))
    out = frame.join(rounds, on=[*keys, "round"]).join(
        frame.select([*keys, pl.col("round").alias("previous_round"), "pcode",
                      pl.col("value").alias("previous_value")]),
        on=[*keys, "previous_round", "pcode"], how="left",
    ).with_columns(
        (pl.col("value") - pl.col("previous_value")).alias("change"),
        pl.when(pl.col("previous_value") > 0)
        .then((pl.col("value") - pl.col("previous_value")) / pl.col("previous_value") * 100).alias("change_pct"),
    )
    if where.round_number is not None:
        out = out.filter(pl.col("round") == where.round_number)
    return out.sort([*keys, "round", "pcode"])


def series(conn: Connection, where: RoundFilter, level: int, group: str = "idps",
           unit: str = "individuals") -> pl.DataFrame:
    """Long time series (series_id, date, value, + pcode, name, operation) for each place at `level`.

    The series id is `operation/pcode`, so two operations covering one place stay separate series;
    the date is the round's reporting date.
    """
    frame = figures(conn, RoundFilter(**{**where.__dict__, "round_number": None, "latest": False}), level, group, unit)
    return frame.select(
        pl.concat_str([pl.col("operation"), pl.col("pcode")], separator="/").alias("series_id"),
        pl.col("reporting_date").alias("date"), "value", "pcode", "name", "operation", "assessment_type", "round",
    ).sort(["series_id", "date"])
