"""A breakdown (by sex, age...) does not add up to the total or part it breaks down."""

from __future__ import annotations

import polars as pl

from mobtrack.model.records import DISAGGREGATIONS
from mobtrack.model.vocab import Severity
from mobtrack.validate import ROUND_ID, RoundRule, RuleContext, rounds_in, rule
from mobtrack.validate.rules._common import ROUND_KEY, cell_columns, exceeds, member_rows, used_dimensions
from mobtrack.validate.rules._duplicates import first_occurrences
from mobtrack.validate.rules.parts_sum_mismatch import SUM_SETTINGS

_EMPTY = {"source_sheet": pl.String, "source_row": pl.Int64}


@rule
class BreakdownSumMismatch(RoundRule):
    slug = "breakdown-sum-mismatch"
    severity = Severity.ERROR
    description = ("The `breakdown` rows of a figure (e.g. by sex, by age band, or by sex x age band) do not "
                   "add up to the total or part they break down. Each breakdown shape is checked on its own, "
                   "matched on the same place, group, unit and the part's own disaggregation keys; a breakdown "
                   "of the whole cell is checked against its total, or the sum of its parts when there is no total.")
    message = ("breakdown by {shape} sums to {breakdown_sum:,} ({breakdown_rows}) but the {parent} "
               "is {parent_value:,} (difference {difference:+,})")
    fix = ("Correct the breakdown value or the total that is wrong. A breakdown that legitimately leaves "
           "people out (e.g. only children counted by age) is not a breakdown of the total: map it "
           "to its own population group or drop it.")
    example = {"shape": "sex", "breakdown_sum": 940, "breakdown_rows": "rows 21, 22", "parent": "total",
               "parent_value": 1000, "difference": -60}
    settings = SUM_SETTINGS
    columns = (*ROUND_KEY, "population_group", "unit", "role", "value")

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        if not (records["role"] == "breakdown").any():
            return pl.DataFrame(schema=_EMPTY)
        split = _rounds_by_part_dimensions(records, ctx)
        if split is not None:
            found = [self.find_round(part, ctx) for part in split]
            return pl.concat([f for f in found if f.height], how="diagonal_relaxed") if any(
                f.height for f in found) else pl.DataFrame(schema=_EMPTY)
        keyed, cell = cell_columns(records, ctx)
        keyed = first_occurrences(keyed, records, ctx)
        role = pl.col("role")
        # The dimensions that partition a cell are the ones its parts use (reason, origin...);
        # whatever else a breakdown fills (sex, age band...) is what it breaks the figure down by.
        part_dims = used_dimensions(keyed.filter(role == "part"))
        shape_dims = [d for d in DISAGGREGATIONS if d not in part_dims]
        parent_key = cell + part_dims
        # the shape (which dimensions a breakdown row fills) as a bit mask: cheap to compute and group on
        shape = pl.sum_horizontal([pl.col(d).is_not_null().cast(pl.UInt8) * (1 << i) for i, d in enumerate(shape_dims)])
        breakdowns = keyed.filter(role == "breakdown").with_columns(shape.alias("_shape"))
        # one lazy plan: Polars runs the independent aggregations below in parallel. The in-memory
        # engine: Polars 2's default (streaming) costs this small, join-heavy plan ~1.6x the time
        # (measured on 40,000-value rounds; it runs once per round of an import)
        lazy = keyed.lazy()
        group_key = parent_key + ["_shape"]
        groups = (
            breakdowns.lazy().group_by(group_key)
            .agg(pl.col("value").sum().alias("breakdown_sum"), pl.col("value").is_null().any().alias("_gap"),
                 pl.col("source_sheet").first().alias("_bd_sheet"), pl.col("source_row").first().alias("_bd_row"),
                 pl.col("source_column").first().alias("_bd_column"), pl.col("_order").first())
            .filter(~pl.col("_gap"))
        )
        cols = ("value", "source_sheet", "source_row", "source_column")
        parts = lazy.filter(role == "part").group_by(parent_key).agg(pl.col(c).first().alias(f"_part_{c}") for c in cols)
        totals = lazy.filter(role == "total").group_by(cell).agg(pl.col(c).first().alias(f"_total_{c}") for c in cols)
        parts_sum = (lazy.filter(role == "part").group_by(cell)
                     .agg(pl.col("value").sum().alias("_parts_sum"), pl.col("value").is_null().any().alias("_pgap")))
        whole = pl.all_horizontal([pl.col(d).is_null() for d in part_dims]) if part_dims else pl.lit(True)
        joined = (groups.join(parts, on=parent_key, how="left", nulls_equal=True)
                  .join(totals, on=cell, how="left", nulls_equal=True)
                  .join(parts_sum, on=cell, how="left", nulls_equal=True))
        # Parent, in order: a total (for a breakdown of the whole cell), the matching part, the sum of
        # the cell's parts (whole-cell breakdown, no total given).
        use_total = whole & pl.col("_total_value").is_not_null()
        use_part = ~use_total & pl.col("_part_value").is_not_null()
        use_sum = ~use_total & ~use_part & whole & pl.col("_parts_sum").is_not_null() & ~pl.col("_pgap").fill_null(True)

        def pick(name: str, fallback: pl.Expr) -> pl.Expr:
            return (pl.when(use_total).then(pl.col(f"_total_{name}"))
                    .when(use_part).then(pl.col(f"_part_{name}")).otherwise(fallback))

        resolved = joined.with_columns(
            pl.when(use_total).then(pl.col("_total_value")).when(use_part).then(pl.col("_part_value"))
            .when(use_sum).then(pl.col("_parts_sum")).alias("parent_value"),
            pl.when(use_total).then(pl.lit("total")).when(use_part).then(pl.lit("part it breaks down"))
            .otherwise(pl.lit("sum of the parts")).alias("parent"),
            pick("source_sheet", pl.col("_bd_sheet")).alias("source_sheet"),
            pick("source_row", pl.col("_bd_row")).alias("source_row"),
            pick("source_column", pl.col("_bd_column")).alias("column"),
        ).filter(pl.col("parent_value").is_not_null())
        difference = pl.col("breakdown_sum") - pl.col("parent_value")
        bad = resolved.filter(exceeds(difference, pl.col("parent_value"), self.setting(ctx, "sum_tolerance"),
                                      self.setting(ctx, "sum_tolerance_ratio"))).sort("_order").collect(engine="in-memory")
        if bad.height == 0:
            return pl.DataFrame(schema=_EMPTY)
        bad = bad.join(member_rows(breakdowns, bad, group_key, ctx.max_issues), on=group_key, how="left",
                       nulls_equal=True).sort("_order")
        labels = {i: " x ".join(d for b, d in enumerate(shape_dims) if i & (1 << b)) or "nothing"
                  for i in bad["_shape"].unique().to_list()}
        return bad.select(
            "source_sheet", "source_row", "column", pl.col("parent_value").cast(pl.String).alias("value"),
            pl.col("_shape").replace_strict(labels, return_dtype=pl.String).alias("shape"),
            "breakdown_sum", pl.col("rows").alias("breakdown_rows"), "parent", "parent_value",
            difference.alias("difference"))


def _rounds_by_part_dimensions(records: pl.DataFrame, ctx: RuleContext) -> list[pl.DataFrame] | None:
    """When several rounds are checked at once and their parts use different dimensions, the rounds
    grouped by those dimensions (each group is checked on its own, as each round would be); None when
    they all agree, the usual case."""
    rounds = rounds_in(records, ctx)
    if rounds.height <= 1:
        return None
    is_part = pl.col("role") == "part"
    parts = records.filter(is_part)
    if parts.height == 0:  # the usual case: no round has parts
        return None
    by = [c for c in ROUND_ID if c in records.columns]
    dims = [d for d in DISAGGREGATIONS if d in records.columns]
    used = parts.group_by(by, maintain_order=True).agg(pl.col(d).is_not_null().any() for d in dims)
    if used.height == rounds.height and used.select(dims).n_unique() <= 1:
        return None
    # rounds without parts use no dimension
    used = rounds.select(by).join(used, on=by, how="left", nulls_equal=True, maintain_order="left").with_columns(
        pl.col(d).fill_null(False) for d in dims)
    if used.select(dims).n_unique() <= 1:
        return None
    signatures = used.select(dims).unique(maintain_order=True).with_row_index("_group")
    groups = used.join(signatures, on=dims, how="left").select(*by, "_group")
    tagged = records.join(groups, on=by, how="left", nulls_equal=True, maintain_order="left")
    return [part.drop("_group") for part in tagged.partition_by("_group", maintain_order=True)]
