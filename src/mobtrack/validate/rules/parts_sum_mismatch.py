"""The parts of a cell (e.g. IDPs by reason x origin) do not add up to the total the source gives for it."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RoundRule, RuleContext, Setting, rule
from mobtrack.validate.rules._common import ROUND_KEY, cell_columns, exceeds, member_rows
from mobtrack.validate.rules._duplicates import first_occurrences

SUM_SETTINGS = (
    Setting("sum_tolerance", 0, "Absolute difference allowed between a sum and its total (default: exact)."),
    Setting("sum_tolerance_ratio", 0.0, "Difference allowed as a share of the total, e.g. 0.01 for 1%; the "
            "larger of the two tolerances applies."),
)


@rule
class PartsSumMismatch(RoundRule):
    slug = "parts-sum-mismatch"
    severity = Severity.ERROR
    description = ("The `part` rows of a cell (round x place x group x unit, e.g. IDPs split by reason and "
                   "origin) do not add up to the `total` row the source gives for the same cell.")
    message = ("the {parts:,} parts of this total ({part_rows}) sum to {parts_sum:,} but the total is "
               "{value} (difference {difference:+,})")
    fix = ("Correct the total or the part that is wrong. If the parts are a sample or leave out an "
           "'unknown' category, they are not a partition: mark them as breakdowns in the mapping instead.")
    example = {"parts": 3, "part_rows": "rows 14, 15, 16", "parts_sum": 1180, "value": "1200", "difference": -20}
    settings = SUM_SETTINGS
    columns = (*ROUND_KEY, "population_group", "unit", "role", "value")

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        if not (records["role"] == "part").any():
            return pl.DataFrame(schema={"source_sheet": pl.String, "source_row": pl.Int64})
        keyed, keys = cell_columns(records, ctx)
        keyed = first_occurrences(keyed, records, ctx)
        part_rows = keyed.filter(pl.col("role") == "part")
        parts = (
            part_rows.group_by(keys)
            .agg(pl.col("value").sum().alias("parts_sum"), pl.col("value").is_null().any().alias("_gap"),
                 pl.len().alias("parts"))
            .filter(~pl.col("_gap"))  # a missing part is reported by the count rules, not as a wrong sum
        )
        # the first total of a cell stands for it; further totals are duplicates, reported as such
        totals = keyed.filter(pl.col("role") == "total").group_by(keys).first()
        both = totals.join(parts, on=keys, how="inner", nulls_equal=True).filter(pl.col("value").is_not_null())
        difference = pl.col("parts_sum") - pl.col("value")
        bad = both.filter(exceeds(difference, pl.col("value"), self.setting(ctx, "sum_tolerance"),
                                  self.setting(ctx, "sum_tolerance_ratio"))).sort("_order")
        if bad.height == 0:
            return pl.DataFrame(schema={"source_sheet": pl.String, "source_row": pl.Int64})
        bad = bad.join(member_rows(part_rows, bad, keys, ctx.max_issues), on=keys, how="left",
                       nulls_equal=True).sort("_order")
        return bad.select(
            "source_sheet", "source_row", pl.col("source_column").alias("column"),
            pl.col("value").cast(pl.String), "parts", pl.col("rows").alias("part_rows"), "parts_sum",
            difference.alias("difference"))
