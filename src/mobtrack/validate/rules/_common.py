"""Keys and figures several rules share: what identifies a round, a place, a cell, a count."""

from __future__ import annotations

import polars as pl

from mobtrack.model.records import DISAGGREGATIONS

ROUND_KEY = ["operation", "assessment_type", "round_number"]

# The place a row describes, as the source gave it.
RAW_PLACE_COLUMNS = ["admin_level", "adm1_pcode", "adm1_name", "adm2_pcode", "adm2_name", "adm3_pcode",
                     "adm3_name", "adm4_pcode", "adm4_name", "site_code", "site_name"]

# Text a count cell holds when the figure was not collected (compared after trim + lowercase).
DEFAULT_PLACEHOLDERS = ["not available", "n/a", "na", "n.a.", "-", "--", "---", "\u2013", "\u2014", "nan",
                        "none", "null", "nil", "nd", "n.d.", "no data", "not applicable", "unknown", "?",
                        "..", "...", "x"]


def place_key(records: pl.DataFrame) -> list[pl.Expr]:
    """Expressions naming a row's place: its resolved p-code when the gazetteer accepted one,
    else the place columns as the source wrote them (so two spellings of one matched place are
    one place, and unmatched places still group sensibly)."""
    if "location_pcode" in records.columns:
        matched = pl.col("location_pcode").is_not_null()
        return [pl.col("country_iso3").alias("_k_country"), pl.col("location_pcode").alias("_k_pcode")] + [
            pl.when(~matched).then(pl.col(c)).alias(f"_k_{c}") for c in RAW_PLACE_COLUMNS
        ]
    return [pl.col("country_iso3").alias("_k_country")] + [pl.col(c).alias(f"_k_{c}") for c in RAW_PLACE_COLUMNS]


def place_label() -> pl.Expr:
    """A short human name for the row's place, for messages."""
    name = pl.coalesce(
        *[pl.col(c) for c in ("site_name", "adm4_name", "adm3_name", "adm2_name", "adm1_name")],
        *[pl.col(c) for c in ("site_code", "adm4_pcode", "adm3_pcode", "adm2_pcode", "adm1_pcode")],
        pl.col("country_iso3"),
    )
    return name.fill_null("?")


def cell_columns(records: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Add the key columns of a cell (round x place x group x unit); return the frame and key names."""
    keyed = records.with_columns(place_key(records))
    keys = [c for c in ROUND_KEY if c in records.columns] + [c for c in keyed.columns if c.startswith("_k_")] + ["population_group", "unit"]
    return keyed, keys


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
    """Aggregation: the first few row numbers of a group as text, for messages ("4, 5, 9, ...")."""
    head = pl.col(col).sort().head(limit).cast(pl.String).str.join(", ")
    return pl.when(pl.len() > limit).then(head + pl.lit(", ...")).otherwise(head)


def headline_figures(records: pl.DataFrame) -> pl.DataFrame:
    """The figure of each (round, place, group, unit) cell: its total when the source gives one,
    else the sum of its parts (breakdowns never add in). Null when any contributing value is null.

    Columns: the cell keys, `location_id`/`location_pcode` (when matched), admin_level, figure, plus provenance of
    the row the figure comes from (the total, or the first part)."""
    rows = records.filter(pl.col("role").is_in(["total", "part"]))
    if rows.height == 0:
        return pl.DataFrame()
    keyed, keys = cell_columns(rows)
    keyed = keyed.with_row_index("_order")
    is_total = pl.col("role") == "total"
    per_cell = keyed.group_by(keys).agg(
        pl.col("value").filter(is_total).first().alias("_total"),
        is_total.any().alias("_has_total"),
        pl.col("value").filter(~is_total).sum().alias("_parts"),
        pl.col("value").filter(~is_total).is_null().any().alias("_parts_null"),
        pl.col("admin_level").first(),
        *[pl.col(c).first() for c in ("location_id", "location_pcode") if c in keyed.columns],
        pl.col("source_sheet").sort_by(~is_total, "_order").first(),
        pl.col("source_row").sort_by(~is_total, "_order").first(),
        pl.col("source_column").sort_by(~is_total, "_order").first(),
        place_label().first().alias("place"),
    )
    figure = (pl.when(pl.col("_has_total")).then(pl.col("_total"))
              .when(~pl.col("_parts_null")).then(pl.col("_parts")))
    return per_cell.with_columns(figure.alias("figure")).drop("_total", "_has_total", "_parts", "_parts_null")


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
    raw_neg = pl.col("value").is_null() & (_raw_number() < 0) & ~is_placeholder(placeholders)
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
