"""A place's figure jumps or collapses compared with the previous round."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import ROUND_ID, RoundRule, RuleContext, Setting, rounds_in, rule
from mobtrack.validate.rules._common import ROUND_KEY, headline_figures, provenance

_EMPTY = {"source_sheet": pl.String, "source_row": pl.Int64}


@rule
class RoundOverRoundOutlier(RoundRule):
    slug = "round-over-round-outlier"
    severity = Severity.WARNING  # displacement can really triple in a month; a person must look
    description = ("A place's figure (total, or sum of parts) for a group and unit changed by at least "
                   "`outlier_factor` times and by at least `outlier_min_change` compared with the previous "
                   "round of the same operation and assessment type.")
    message = ("{place}: {population_group} ({unit}) is {figure:,} this round against {previous:,} in the "
               "previous round ({change})")
    fix = ("Check the figure and the place it was matched to (a wrong p-code moves a whole population). "
           "If the change is real, nothing to do; tune the thresholds for volatile operations.")
    example = {"place": "Baidoa", "population_group": "idps", "unit": "individuals", "figure": 48200,
               "previous": 9100, "change": "x5.3"}
    settings = (
        Setting("outlier_factor", 3.0, "Flag when the new figure is at least this many times the old one, or "
                "at most the old one divided by it."),
        Setting("outlier_min_change", 1000, "...and the absolute change is at least this (ignores small places)."),
    )
    columns = (*ROUND_KEY, "population_group", "unit", "role", "value")

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        previous = ctx.previous_figures
        if previous is None or previous.height == 0:
            return pl.DataFrame(schema=_EMPTY)
        # the store keys figures by location id; earlier callers by p-code: use what both have
        key = next((k for k in ("location_id", "location_pcode") if k in previous.columns and k in records.columns),
                   None)
        if key is None:
            return pl.DataFrame(schema=_EMPTY)
        figures = headline_figures(records, ctx)
        if figures.height == 0:
            return pl.DataFrame(schema=_EMPTY)
        # several rounds at once: each previous figure names the round it is the previous of
        per_round = [c for c in ROUND_ID if c in previous.columns and c in records.columns]
        old = previous.select(*per_round, key, "population_group", "unit", pl.col("value").alias("previous")).filter(
            pl.col("previous").is_not_null())
        figures = figures.filter(pl.col("figure").is_not_null() & pl.col(key).is_not_null())
        if per_round and rounds_in(records, ctx).height == 1:
            # one round (a big round is checked alone): keep the previous figures that name it (a
            # null round column names none, as in the join below) and join on the place and cell
            # alone, rather than on four more columns, mostly text, for every figure
            mine = records.select(per_round).row(0, named=True)
            old = old.filter(pl.all_horizontal(pl.col(c) == pl.lit(v, dtype=records.schema[c])
                                               for c, v in mine.items())).drop(per_round)
            per_round = []
        if per_round and figures.height:
            figures = figures.drop(per_round, strict=False).with_columns(
                *records.select(per_round)[figures["_row"]].get_columns())
        both = figures.join(old, on=[*per_round, key, "population_group", "unit"], how="inner")
        factor = float(self.setting(ctx, "outlier_factor"))
        min_change = float(self.setting(ctx, "outlier_min_change"))
        new, prev = pl.col("figure").cast(pl.Float64), pl.col("previous").cast(pl.Float64)
        big_ratio = (new >= prev * factor) | (prev >= new * factor)
        bad = both.filter(big_ratio & ((new - prev).abs() >= min_change)).sort("_row")
        change = (pl.when(pl.col("previous") == 0).then(pl.lit("from zero"))
                  .otherwise(pl.lit("x") + (new / prev).round(1).cast(pl.String)))
        return pl.concat([provenance(records, bad["_row"]), bad], how="horizontal").select(
            "source_sheet", "source_row", pl.col("source_column").alias("column"),
            pl.col("figure").cast(pl.String).alias("value"), "place", "population_group", "unit", "figure",
            "previous", change.alias("change"))
