"""From a wide table (one row per place, one column per count) to canonical records.

Every wide format (HXL workbooks, DTM data-dictionary exports, mapped CSV) ends here: the
adapter says which columns describe the row (the *context*: round, place, date...) and which
hold counts (`ValueColumn`s, each with its group, unit, role and disaggregation). `melt` makes
one record per non-empty count cell, parses the count and keeps the raw text when it is not a
clean whole number, with file, sheet, row and column, so that the validation rules can say why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from mobtrack.ingest.tables import ROW
from mobtrack.ingest.values import REFORMATTED, parse_counts
from mobtrack.model import conform
from mobtrack.model.vocab import Severity
from mobtrack.validate.issue import Issue

# Row-level fields that, when a place has several rows, split its figure into parts.
SPLIT_FIELDS = ["reason", "origin_pcode", "origin_name", "displacement_period", "shelter_type", "site_type"]
DIMENSIONS = ["sex", "age_band", "reason", "origin_pcode", "origin_name", "shelter_type", "displacement_period"]


@dataclass(frozen=True)
class ValueColumn:
    column: str  # column in the frame
    label: str  # how the user knows it: header text, tag or variable name
    group: str
    unit: str
    role: str = "total"
    sex: str | None = None
    age_band: str | None = None
    reason: str | None = None
    origin_pcode: str | None = None
    origin_name: str | None = None
    shelter_type: str | None = None
    displacement_period: str | None = None


ALL_SEXES = "all"


def harmonise_breakdowns(values: list[ValueColumn]) -> list[ValueColumn]:
    """Give `sex = "all"` to an age-only breakdown that sits beside sex x age breakdowns of the same figure.

    Forms count "men", "women" and "children": three cells of one breakdown by sex x age, where the
    children are of both sexes. Without a sex on the children's cell, the men and women would look
    like a breakdown on their own that leaves people out.
    """
    by_sex_and_age = {(v.group, v.unit, v.reason, v.shelter_type) for v in values
                      if v.role == "breakdown" and v.sex and v.age_band}
    out = []
    for v in values:
        if (v.role == "breakdown" and v.age_band and not v.sex
                and (v.group, v.unit, v.reason, v.shelter_type) in by_sex_and_age):
            v = replace(v, sex=ALL_SEXES)
        out.append(v)
    return out


def melt(
    frame: pl.DataFrame,
    context: dict[str, pl.Expr],
    values: list[ValueColumn],
    *,
    file: str,
    sheet: str | None,
    row_split: bool = False,
) -> tuple[pl.DataFrame, list[Issue]]:
    """Canonical records and issues for one batch of a wide table.

    `context` maps canonical column names to expressions over `frame` (which carries `_row`).
    `row_split`: the rows of one place are parts of its figure (split by reason, origin...), so
    a count that is a `total` within its row becomes a `part`.
    """
    ctx = frame.select([expr.alias(name) for name, expr in context.items()] + [pl.col(ROW).alias("source_row")])
    ctx, frame, total_issues = _drop_total_rows(ctx, frame, file, sheet)
    pieces = []
    for v in values:
        role = "part" if row_split and v.role == "total" else v.role
        literals = {"population_group": v.group, "unit": v.unit, "role": role, "source_column": v.label}
        for dim in DIMENSIONS:
            given = getattr(v, dim)
            if given is not None:
                literals[dim] = given
        piece = ctx.with_columns(
            frame.get_column(v.column).cast(pl.String).str.strip_chars().alias("raw_value"),
            *[pl.lit(val, dtype=pl.String).alias(name) for name, val in literals.items()],
        )
        pieces.append(piece)
    if not pieces:
        return conform(pl.DataFrame()), []
    long = pl.concat(pieces, how="diagonal_relaxed").filter(
        pl.col("raw_value").is_not_null() & (pl.col("raw_value") != "")
    )
    # Most cells are plain integers: cast those directly and run the full parser (separators,
    # placeholders, decimals) only on the rest, which keeps the import near the raw parse speed.
    long = long.with_columns(pl.col("raw_value").cast(pl.Int64, strict=False).alias("value"))
    clean = long.filter(pl.col("value").is_not_null()).with_columns(pl.lit(None, dtype=pl.String).alias("raw_value"))
    messy = long.filter(pl.col("value").is_null())
    value, problem = parse_counts(pl.col("raw_value"))
    messy = messy.with_columns(value.alias("value"), problem.alias("_problem"))
    issues = _issues(messy, file, sheet)
    messy = messy.with_columns(
        pl.when(pl.col("_problem").is_null()).then(None).otherwise(pl.col("raw_value")).alias("raw_value")
    ).drop("_problem")
    return conform(pl.concat([clean, messy], how="vertical_relaxed")), total_issues + issues


TOTAL_NAME = r"(?i)^\s*(grand\s+)?(sub\s*-?\s*)?totals?\s*:?\s*$|^\s*(total|totaux|totales?)\s+(general|général)\s*$"
PLACE_NAMES = ["adm1_name", "adm2_name", "adm3_name", "adm4_name", "site_name", "adm1_pcode", "adm2_pcode",
               "adm3_pcode", "adm4_pcode", "site_code"]


def _drop_total_rows(ctx: pl.DataFrame, frame: pl.DataFrame, file: str, sheet: str | None):
    """Leave out rows whose place is written "Total" / "Grand total": figures are computed from the places,
    and a total row read as a place would be counted twice."""
    names = [c for c in PLACE_NAMES if c in ctx.columns]
    if not names:
        return ctx, frame, []
    is_total = pl.any_horizontal([pl.col(c).str.contains(TOTAL_NAME).fill_null(False) for c in names])
    mask = ctx.select(is_total.alias("t")).get_column("t")
    if not mask.any():
        return ctx, frame, []
    issues = [Issue(Severity.WARNING, "total-row", f"row {row} is a total row ({label!r}), not a place: left out; "
                    "upper-level figures are computed from the places", file, sheet, row, None, label)
              for row, label in ctx.filter(mask).select(
                  "source_row", pl.coalesce([pl.col(c) for c in names]).alias("label")).iter_rows()]
    return ctx.filter(~mask), frame.filter(~mask), issues


def _issues(long: pl.DataFrame, file: str, sheet: str | None) -> list[Issue]:
    """Numbers written as text are fine once read: one note per column, not one per cell.

    Cells that could not be read as a count (placeholders, words, fractions) keep their text in
    `raw_value` and are reported by the validation rules (placeholder-count, non-numeric-count,
    fractional-count), which see every record whatever adapter made it.
    """
    reformatted = (
        long.filter(pl.col("_problem") == REFORMATTED)
        .group_by("source_column")
        .agg(pl.len().alias("n"), pl.col("source_row").first().alias("row"), pl.col("raw_value").first().alias("raw"))
        .sort("source_column")
    )
    return [
        Issue(Severity.INFO, REFORMATTED, f"{column}: {n} count(s) written with separators or decimals (first "
              f"{raw!r} at row {row}); read as whole numbers", file, sheet, row, column, raw)
        for column, n, row, raw in reformatted.iter_rows()
    ]


def finest_level(place: dict[str, pl.Expr]) -> pl.Expr:
    """Per row, the finest admin level (1-4) with a code or name, 5 for a site/village, else 0."""
    expr = pl.lit(0, dtype=pl.Int8)
    for level in (1, 2, 3, 4):
        cols = [place[k] for k in (f"adm{level}_pcode", f"adm{level}_name") if k in place]
        if cols:
            expr = pl.when(pl.any_horizontal([c.is_not_null() for c in cols])).then(level).otherwise(expr)
    site = [place[k] for k in ("site_code", "site_name") if k in place]
    if site:
        expr = pl.when(pl.any_horizontal([c.is_not_null() for c in site])).then(5).otherwise(expr)
    return expr.cast(pl.Int8)


# --- swapped name / code columns ---------------------------------------------------------------

PCODE_LIKE = r"^[A-Za-z]{2,3}[-_]?\d[\dA-Za-z_\-]*$"
NAME_LIKE = r"[A-Za-z\u00C0-\u024F\u0600-\u06FF].*[A-Za-z\u00C0-\u024F\u0600-\u06FF]"


def looks_like_codes(values: pl.Series) -> float:
    """Share of the non-empty values that look like p-codes (letters then digits, no spaces)."""
    v = values.drop_nulls().cast(pl.String).str.strip_chars()
    v = v.filter(v != "")
    if v.len() == 0:
        return 0.0
    return float(v.str.contains(PCODE_LIKE).mean())


def looks_like_names(values: pl.Series) -> float:
    v = values.drop_nulls().cast(pl.String).str.strip_chars()
    v = v.filter(v != "")
    if v.len() == 0:
        return 0.0
    return float((~v.str.contains(PCODE_LIKE) & v.str.contains(NAME_LIKE)).mean())


def swapped_levels(frame: pl.DataFrame, pairs: dict[str, tuple[str, str]]) -> list[str]:
    """Keys of `pairs` ({label: (code column, name column)}) whose two columns hold each other's values."""
    swapped = []
    for label, (code_col, name_col) in pairs.items():
        codes, names = frame.get_column(code_col), frame.get_column(name_col)
        if looks_like_names(codes) >= 0.8 and looks_like_codes(names) >= 0.8:
            swapped.append(label)
    return swapped
