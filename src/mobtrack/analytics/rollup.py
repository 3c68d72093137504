"""Roll a round's observations up the admin hierarchy into headline figures.

Rules (docs/data-model.md):
- A place's own figure, per population group and unit, is the sum of its `total` rows, or, when
  the source gave no total, the sum of its `part` rows (a partition, e.g. by reason x origin).
  `breakdown` rows (sex, age) never add into a headline figure.
- Upper levels are computed from the lowest level present, branch by branch: a place whose
  children carry figures gets the sum of its children; a place without any keeps the source's own
  figure. Where both exist, `source_value` keeps the source's figure so disagreement can be flagged.
- Values that could not be read are not zeros: they are counted in `missing`.
"""

from __future__ import annotations

import polars as pl

from mobtrack.store.blocks import FIGURE_SCHEMA


def own_figures(observations: pl.DataFrame, by: list[str] | tuple = ()) -> pl.DataFrame:
    """Per location, group and unit (and `by`): the source's own headline figure and how many values were
    missing."""
    by = list(by)
    # narrowed first: the filter then copies five columns rather than the forty of an observation
    located = observations.select(*by, "location_id", "population_group", "unit", "role", "value").filter(
        pl.col("location_id").is_not_null() & (pl.col("role") != "breakdown"))
    cell = [*by, "location_id", "population_group", "unit"]
    if not located["role"].is_in(["total", "part"]).all():
        return _own_figures_by_role(located, cell)
    # Totals win over parts for the same cell; parts are used only when no total was given. With
    # only these two roles, both are summed in one grouping (plain sums: Polars' fast path), ~2x
    # cheaper than summing per role, sorting and taking each cell's first.
    total, value = pl.col("role") == "total", pl.col("value")
    sums = located.select(
        *cell, total.alias("_has_total"),
        pl.when(total).then(value).alias("_total"), (total & value.is_null()).alias("_total_missing"),
        (total & value.is_not_null()).alias("_total_present"),
        pl.when(~total).then(value).alias("_parts"), (~total & value.is_null()).alias("_parts_missing"),
        (~total & value.is_not_null()).alias("_parts_present"),
    ).group_by(cell).agg(
        pl.col("_has_total", "_total_present", "_parts_present").any(),
        pl.col("_total", "_parts").sum(),
        pl.col("_total_missing", "_parts_missing").sum().cast(pl.Int32),
    )
    has_total = pl.col("_has_total")
    return sums.select(
        *cell,
        pl.when(has_total).then(pl.when(pl.col("_total_present")).then(pl.col("_total")))
        .otherwise(pl.when(pl.col("_parts_present")).then(pl.col("_parts"))).alias("source_value"),
        pl.when(has_total).then(pl.col("_total_missing")).otherwise(pl.col("_parts_missing")).alias("missing"),
    )


def _own_figures_by_role(located: pl.DataFrame, cell: list[str]) -> pl.DataFrame:
    """own_figures where rows carry other roles than total and part (rows a rule reports): summed per role;
    a cell's total wins, else the first other role."""
    per_role = located.group_by([*cell, "role"]).agg(
        pl.col("value").sum().alias("value"),
        pl.col("value").is_null().sum().cast(pl.Int32).alias("missing"),
        pl.col("value").is_not_null().sum().alias("present"),
    )
    return (
        per_role.with_columns((pl.col("role") == "total").alias("_is_total"))
        .sort("_is_total", descending=True)
        .group_by(cell, maintain_order=True)
        .first()
        .with_columns(pl.when(pl.col("present") > 0).then(pl.col("value")).otherwise(None).alias("value"))
        .select(*cell, pl.col("value").alias("source_value"), "missing")
    )


def rollup(observations: pl.DataFrame, places: pl.DataFrame, by: list[str] | tuple = ()) -> pl.DataFrame:
    """Figures for every place that has data or has descendants with data. Returns FIGURE_SCHEMA.

    `by`: columns that split `observations` into independent sets (the pipeline rolls up a batch of
    rounds at once, by round position); they lead the result's columns and sort order."""
    by = list(by)
    own = own_figures(observations, by)
    if own.is_empty():
        return pl.DataFrame(schema={**observations.select(by).schema, **FIGURE_SCHEMA})
    tree = places.select(pl.col("id").alias("location_id"), "admin_level", "parent_id")
    figures = own.join(tree, on="location_id", how="left").with_columns(
        pl.col("source_value").alias("value"), pl.lit(False).alias("_from_children")
    )
    keys = [*by, "population_group", "unit"]
    # One frame per admin level: a level's sums change only the rows of their parents' level, so
    # each step joins those rather than every figure rolled up so far (the same result as joining
    # all of them: the other rows are left as they are).
    levels = {level: part for (level,), part in figures.partition_by("admin_level", as_dict=True).items()}
    # Deepest level first, so a parent sees all of its descendants before it passes its sum up.
    for level in range(5, 0, -1):
        children = levels.get(level)
        if children is None or children.is_empty():
            continue
        sums = (
            children.filter(pl.col("parent_id").is_not_null())
            .group_by(["parent_id", *keys])
            .agg(pl.col("value").sum().alias("_child_sum"), pl.col("missing").sum().alias("_child_missing"))
            .rename({"parent_id": "location_id"})
            .join(tree.rename({"admin_level": "_level", "parent_id": "_parent"}), on="location_id", how="left")
        )
        for (parent_level,), part in sums.partition_by("_level", as_dict=True, include_key=False).items():
            target = levels.get(parent_level, figures.clear())
            target = target.join(part, on=["location_id", *keys], how="full", coalesce=True)
            levels[parent_level] = target.with_columns(
                # a parent new to the figures takes its place in the tree
                pl.col("admin_level").fill_null(pl.lit(parent_level, dtype=figures.schema["admin_level"])),
                pl.col("parent_id").fill_null(pl.col("_parent")),
                pl.when(pl.col("_child_sum").is_not_null()).then(pl.col("_child_sum")).otherwise(pl.col("value"))
                .alias("value"),
                pl.when(pl.col("_child_sum").is_not_null())
                .then(pl.col("_child_missing").cast(pl.Int32))
                .otherwise(pl.col("missing")).fill_null(0).alias("missing"),
                (pl.col("_from_children").fill_null(False) | pl.col("_child_sum").is_not_null())
                .alias("_from_children"),
            ).drop("_child_sum", "_child_missing", "_parent")
    figures = pl.concat(list(levels.values()), how="vertical_relaxed")
    return figures.select(
        *by, *(pl.col(name).cast(dtype) for name, dtype in FIGURE_SCHEMA.items())
    ).sort([*by, "admin_level", "location_id", "population_group", "unit"])
