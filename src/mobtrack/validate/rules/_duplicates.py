"""Rows that describe the same cell twice (shared by exact-duplicate and conflicting-duplicate)."""

from __future__ import annotations

import numpy as np
import polars as pl

from mobtrack.model.records import DISAGGREGATIONS
from mobtrack.validate import RuleContext, varying
from mobtrack.validate.rules._common import cell_columns

_SCHEMA = {"source_sheet": pl.String, "source_row": pl.Int64}


def repeated_rows(records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
    """Every row that repeats the cell of an earlier row (round x place x group x unit x role x
    disaggregation), with the first row's provenance and value, `same` (identical count) and
    `_order` (position in `records`).

    Parts that carry no disaggregation are never repeats: an adapter makes such parts when a
    place's figure is spread over rows nothing tells apart (a site list without site names), and
    their sum is the figure. Both duplicate rules and the sum rules need this; it is computed once
    per round and kept in the context."""
    cached = ctx.cache.get("_repeated_rows")
    if cached is not None and cached[0] is records:
        return cached[1]
    keyed, keys = cell_columns(records, ctx)
    dims = varying(records, DISAGGREGATIONS)
    keys = keys + ["role", *dims]
    nameless_part = (pl.col("role") == "part") & pl.all_horizontal(
        [pl.col(d).is_null() for d in DISAGGREGATIONS if d in keyed.columns])
    # Most rows are unique: a 64-bit hash of the key finds the few candidates in one cheap pass,
    # then the exact key decides among them (so a hash collision can never invent a duplicate).
    # The hashes shared by several rows are found by sorting them with numpy: ~4x cheaper than
    # Polars' is_duplicated on a round of 40,000 values, which mostly has none.
    hashes = keyed.select(keys).hash_rows().to_numpy()
    ordered = np.sort(hashes)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    repeated = keyed.clear() if shared.size == 0 else keyed.filter(
        pl.Series(np.isin(hashes, shared)) & ~nameless_part).filter(pl.len().over(keys) > 1)
    if repeated.height == 0:
        out = pl.DataFrame(schema=_SCHEMA)
    else:
        first = [pl.col(c).sort_by("_order").first().over(keys).alias(f"first_{c}")
                 for c in ("source_sheet", "source_row", "value", "raw_value", "_order")]
        out = (
            repeated.with_columns(first)
            .filter(pl.col("_order") != pl.col("first__order"))
            .with_columns(
                (pl.col("value").eq_missing(pl.col("first_value"))
                 & pl.col("raw_value").eq_missing(pl.col("first_raw_value"))).alias("same"),
                pl.coalesce(pl.col("raw_value"), pl.col("value").cast(pl.String)).alias("value_text"),
                pl.coalesce(pl.col("first_raw_value"), pl.col("first_value").cast(pl.String)).fill_null("empty")
                .alias("first_value_text"),
                pl.when(pl.col("first_source_sheet").eq_missing(pl.col("source_sheet"))).then(pl.lit(""))
                .otherwise(pl.lit(" of sheet ") + pl.col("first_source_sheet").fill_null("?")).alias("first_where"),
            )
            .sort("_order")
        )
    ctx.cache["_repeated_rows"] = (records, out)
    return out


def findings(rows: pl.DataFrame) -> pl.DataFrame:
    if rows.height == 0:
        return pl.DataFrame(schema=_SCHEMA)
    return rows.select("source_sheet", "source_row", pl.col("source_column").alias("column"),
                       pl.col("value_text").alias("value"), "first_source_row", "first_where", "first_value_text")


def first_occurrences(keyed: pl.DataFrame, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
    """`keyed` (from cell_columns) without the rows that repeat an earlier row's cell: the sum rules
    judge what the store keeps, so one duplicated row is reported once, as a duplicate, and not
    again as a wrong sum."""
    repeats = repeated_rows(records, ctx)
    if repeats.height == 0:
        return keyed
    return keyed.filter(~pl.col("_order").is_in(repeats["_order"].implode()))
