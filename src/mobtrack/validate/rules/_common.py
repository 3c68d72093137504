"""Keys and figures several rules share: what identifies a round, a place, a cell, a count."""

from __future__ import annotations

import polars as pl

from mobtrack.model.records import DISAGGREGATIONS
from mobtrack.validate import RuleContext, varying

ROUND_KEY = ["operation", "assessment_type", "round_number"]

# The place a row describes, as the source gave it.
RAW_PLACE_COLUMNS = ["admin_level", "adm1_pcode", "adm1_name", "adm2_pcode", "adm2_name", "adm3_pcode",
                     "adm3_name", "adm4_pcode", "adm4_name", "site_code", "site_name"]

# Text a count cell holds when the figure was not collected (compared after trim + lowercase).
DEFAULT_PLACEHOLDERS = ["not available", "n/a", "na", "n.a.", "-", "--", "---", "\u2013", "\u2014", "nan",
                        "none", "null", "nil", "nd", "n.d.", "no data", "not applicable", "unknown", "?",
                        "..", "...", "x"]


def cell_columns(records: pl.DataFrame, ctx: RuleContext | None = None,
                 extra: list[str] | None = None) -> tuple[pl.DataFrame, list[str]]:
    """The records narrowed to what the round rules read, with a row position `_order` and the
    key columns of a cell (round x place x group x unit [x extra]), and the key names. The place is the resolved p-code when the gazetteer accepted one, else the
    place columns as the source wrote them (two spellings of one matched place are one place;
    unmatched places still group sensibly). Constant columns are left out of the key.

    Several round rules need this for the same frame; it is computed once per round and kept
    in the context."""
    cache_key = ("_cells", tuple(extra or ()))
    if ctx is not None:
        cached = ctx.cache.get(cache_key)
        if cached is not None and cached[0] is records:
            return cached[1], cached[2]
    raw = ["country_iso3", *RAW_PLACE_COLUMNS]
    # the store's integer id hashes faster than the p-code; either names the accepted place
    resolved = next((c for c in ("location_id", "location_pcode") if c in records.columns), None)
    if resolved:
        matched = pl.col(resolved).is_not_null()
        unmatched = records.filter(~matched) if records[resolved].null_count() else records.clear()
        # raw columns only matter for unmatched rows, and only those that vary among them
        raw_keys = [f"_k_{c}" for c in varying(unmatched, raw)]
        keyed = records.with_columns(pl.when(~matched).then(pl.col(c[3:])).alias(c) for c in raw_keys)
        place = [resolved, *raw_keys]
    else:
        keyed, place = records, varying(records, raw)
    keys = [*varying(records, ROUND_KEY), *place, "population_group", "unit", *(extra or [])]
    # Only what the round rules read, plus the row position: every filter of this frame then
    # copies a dozen columns rather than the forty of a canonical record.
    needed = dict.fromkeys([*keys, "role", "value", "raw_value", *DISAGGREGATIONS, "admin_level", "location_id",
                            "location_pcode", "source_sheet", "source_row", "source_column"])
    keyed = keyed.select([c for c in needed if c in keyed.columns]).with_row_index("_order")
    if ctx is not None:
        ctx.cache[cache_key] = (records, keyed, keys)
    return keyed, keys


def place_label() -> pl.Expr:
    """A short human name for the row's place, for messages."""
    name = pl.coalesce(
        *[pl.col(c) for c in ("site_name", "adm4_name", "adm3_name", "adm2_name", "adm1_name")],
        *[pl.col(c) for c in ("site_code", "adm4_pcode", "adm3_pcode", "adm2_pcode", "adm1_pcode")],
        pl.col("country_iso3"),
    )
    return name.fill_null("?")


def used_dimensions(rows: pl.DataFrame) -> list[str]:
    """Disaggregation columns that carry a value on at least one of these rows."""
    if rows.height == 0:
        return []
    counts = rows.select(pl.col(d).is_not_null().any() for d in DISAGGREGATIONS).row(0)
    return [d for d, used in zip(DISAGGREGATIONS, counts, strict=True) if used]


def exceeds(diff: pl.Expr, reference: pl.Expr, absolute: float, ratio: float) -> pl.Expr:
    """|diff| above the tolerance: the larger of an absolute amount and a share of the reference."""
    allowed = pl.max_horizontal(pl.lit(float(absolute)), reference.abs().cast(pl.Float64) * float(ratio))
    return diff.abs().cast(pl.Float64) > allowed


def rows_list(col: str = "source_row", limit: int = 5) -> pl.Expr:
    """Aggregation: the group's row numbers as text for messages: "row 7", "rows 4, 5, 9, ..."."""
    # unique: one source row can hold several values of a group (a male and a female column)
    rows = pl.col(col).unique().sort()
    head = rows.head(limit).cast(pl.String).str.join(", ")
    listed = pl.when(rows.len() > limit).then(head + pl.lit(", ...")).otherwise(head)
    return pl.when(rows.len() == 1).then(pl.lit("row ") + listed).otherwise(pl.lit("rows ") + listed)


def member_rows(members: pl.DataFrame, groups: pl.DataFrame, keys: list[str], limit: int) -> pl.DataFrame:
    """For the first `limit` groups (the ones that will be listed as issues), the row numbers of
    their members as text. Done after the check, on the few failing groups, because formatting
    row lists for every group of a million-row round would cost more than the check itself."""
    listed = groups.head(limit).select(keys)
    return (members.join(listed, on=keys, how="semi", nulls_equal=True)
            .group_by(keys).agg(rows_list().alias("rows")))


def provenance(records: pl.DataFrame, index: pl.Series) -> pl.DataFrame:
    """Provenance and a place label of the rows at these positions, in that order."""
    return records[index].select("source_sheet", "source_row", "source_column", place_label().alias("place"))


def headline_figures(records: pl.DataFrame, ctx: RuleContext | None = None) -> pl.DataFrame:
    """The figure of each (round, place, group, unit) cell: its total when the source gives one,
    else the sum of its parts (breakdowns never add in). Null when any contributing value is null.

    Columns: the cell keys, admin_level, location_id/location_pcode (when present), `figure`, and
    `_row`, the position in `records` of the row the figure comes from (its total, else its first
    part) for `provenance`. Kept in the context: several round rules need it."""
    if ctx is not None:
        cached = ctx.cache.get("_figures")
        if cached is not None and cached[0] is records:
            return cached[1]
    from mobtrack.validate.rules._duplicates import first_occurrences  # it builds on this module

    keyed, keys = cell_columns(records, ctx)
    keyed = first_occurrences(keyed, records, ctx or RuleContext("")).filter(pl.col("role").is_in(["total", "part"]))
    if keyed.height == 0:
        return pl.DataFrame()
    is_total, value, order = pl.col("role") == "total", pl.col("value"), pl.col("_order")
    firsts = [pl.col(c).first() for c in ("admin_level", "location_id", "location_pcode")
              if c in keyed.columns and c not in keys]
    # Plain sums, counts and minimums (Polars' fast path: ~3x cheaper than the filtered firsts
    # below), right when a cell has at most one total, the usual case: its total is then the sum
    # of the cell's totals, and rows keep their order, so the earliest row has the least `_order`.
    per_cell = keyed.group_by(keys).agg(
        is_total.sum().alias("_totals"),
        pl.when(is_total).then(value).sum().alias("_total"),
        (is_total & value.is_null()).any().alias("_total_null"),
        pl.when(~is_total).then(value).sum().alias("_parts"),
        (~is_total & value.is_null()).any().alias("_parts_null"),
        *firsts,
        pl.coalesce(pl.when(is_total).then(order).min(), order.min()).alias("_row"),
    )
    if per_cell["_totals"].max() <= 1:
        total = pl.when(~pl.col("_total_null")).then(pl.col("_total"))
        has_total = pl.col("_totals") > 0
    else:  # a cell given twice as a total (with different disaggregations): its first total stands
        per_cell = keyed.group_by(keys).agg(
            value.filter(is_total).first().alias("_total"),
            is_total.any().alias("_has_total"),
            value.filter(~is_total).sum().alias("_parts"),
            value.filter(~is_total).is_null().any().alias("_parts_null"),
            *firsts,
            # rows keep their order within a group, so first() is the earliest
            pl.coalesce(order.filter(is_total).first(), order.first()).alias("_row"),
        )
        total, has_total = pl.col("_total"), pl.col("_has_total")
    figure = pl.when(has_total).then(total).when(~pl.col("_parts_null")).then(pl.col("_parts"))
    out = per_cell.with_columns(figure.alias("figure")).drop(
        "_totals", "_total", "_total_null", "_has_total", "_parts", "_parts_null", strict=False)
    if ctx is not None:
        ctx.cache["_figures"] = (records, out)
    return out


# --- count cells -----------------------------------------------------------------------------
# Adapters keep the original text in `raw_value` and leave `value` null when it is not a whole
# number; these expressions classify that text. Exactly one of placeholder / negative /
# fractional / non-numeric / empty is true for a row whose `value` is null.

def _raw() -> pl.Expr:
    return pl.col("raw_value").str.strip_chars()


def _raw_number() -> pl.Expr:
    # "1 234" and "1,234" are not read as numbers on purpose: is "1,234" a thousand or 1.234?
    return _raw().cast(pl.Float64, strict=False)


def is_placeholder(placeholders: list[str]) -> pl.Expr:
    return pl.col("value").is_null() & _raw().str.to_lowercase().is_in([p.lower() for p in placeholders])


def is_negative(placeholders: list[str]) -> pl.Expr:
    raw_neg = pl.col("value").is_null() & _raw_number().is_finite() & (_raw_number() < 0) & ~is_placeholder(placeholders)
    return (pl.col("value") < 0) | raw_neg


def is_fractional() -> pl.Expr:
    n = _raw_number()
    return pl.col("value").is_null() & n.is_finite() & (n >= 0) & (n != n.floor())


def is_empty() -> pl.Expr:
    return pl.col("value").is_null() & (pl.col("raw_value").is_null() | (_raw() == ""))


def is_non_numeric(placeholders: list[str]) -> pl.Expr:
    n = _raw_number()
    unread = n.is_null() | ~n.is_finite() | ((n >= 0) & (n == n.floor()))
    return (pl.col("value").is_null() & (_raw() != "") & ~is_placeholder(placeholders) & unread)


def count_text() -> pl.Expr:
    """The count cell as the source wrote it (for the issue's `value`)."""
    return pl.coalesce(pl.col("raw_value"), pl.col("value").cast(pl.String)).alias("value")
