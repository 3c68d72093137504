"""Reading the cells of field spreadsheets: counts, dates and round numbers, as Polars expressions.

Counts arrive as "1,234", "1 234", "12.0", "Not available", "-", "n/a", or as numbers stored as
text. `parse_counts` turns a text column into `value` (a whole number or null) plus the problem
found, so that the adapter keeps the raw cell and records an issue instead of guessing.
All of it is vectorised: no Python runs per cell.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

# Cells that mean "no figure here". Lower-cased, stripped.
PLACEHOLDERS = [
    "not available", "n/a", "na", "n.a.", "-", "--", "—", "–", "..", "...", "?", "none", "null", "nil",
    "nan", "unknown", "dnk", "do not know", "x", "#n/a", "#value!", "#ref!", "#div/0!", "nd", "s/o",
]

# The same in the case variants files use, so a column can be tested without lower-casing it.
PLACEHOLDER_SPELLINGS = sorted({v for p in PLACEHOLDERS for v in (p, p.upper(), p.title(), p.capitalize())})

_PLAIN_INT = r"^[+-]?\d+$"
_DECIMAL = r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$"
# 1,234 / 1 234 / 1'234 / 1.234.567 (grouped thousands; a single "1.234" stays a decimal)
_GROUPED = r"^[+-]?\d{1,3}(?:(?:,\d{3})+|(?:[ \u00a0\u202f\u2009]\d{3})+|(?:'\d{3})+|(?:\.\d{3}){2,})(?:\.0+)?$"

# Problems a count cell can have (issue rule slugs).
PLACEHOLDER = "placeholder-count"
NOT_NUMBER = "non-numeric-count"
NOT_WHOLE = "fractional-count"
REFORMATTED = "count-as-text"


def parse_counts(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(value: Int64, problem: String) for a text column of counts.

    problem is null for a clean integer, "count-as-text" when a separator or ".0" had to be
    removed (the value is still used), and one of the other slugs when the value is null.
    """
    text = raw.cast(pl.String).str.strip_chars()
    lowered = text.str.to_lowercase()
    grouped = (
        text.str.replace(r"\.0+$", "").str.replace_all(r"[,\s\u00a0\u202f\u2009'.]", "").cast(pl.Int64, strict=False)
    )
    as_float = text.cast(pl.Float64, strict=False)
    is_int = text.str.contains(_PLAIN_INT)
    is_grouped = text.str.contains(_GROUPED)
    is_decimal = text.str.contains(_DECIMAL)
    whole = is_decimal & (as_float == as_float.floor()) & (as_float.abs() < 9e15)
    value = (
        pl.when(is_int).then(text.cast(pl.Int64, strict=False))
        .when(is_grouped).then(grouped)
        .when(whole).then(as_float.cast(pl.Int64, strict=False))
        .otherwise(None)
    )
    problem = (
        pl.when(text.is_null() | (text == "")).then(None)
        .when(is_int).then(None)
        .when(is_grouped | whole).then(pl.lit(REFORMATTED))
        .when(lowered.is_in(PLACEHOLDERS)).then(pl.lit(PLACEHOLDER))
        .when(is_decimal).then(pl.lit(NOT_WHOLE))
        .otherwise(pl.lit(NOT_NUMBER))
    )
    return value, problem


def parse_counts_repeated(frame: pl.DataFrame, raw: pl.Expr) -> tuple[pl.Series, pl.Series]:
    """`parse_counts` of a column of `frame`, each distinct text parsed once: (value, problem) Series.

    Machine-made exports repeat a few hundred small counts over many rows, and the careful parser
    tries several regular expressions on each cell."""
    keys = frame.select(raw.cast(pl.String).alias("_k"))
    value, problem = parse_counts(pl.col("_k"))
    parsed = keys.unique().with_columns(value.alias("value"), problem.alias("problem"))
    out = keys.join(parsed, on="_k", how="left", nulls_equal=True, maintain_order="left")
    return out.get_column("value"), out.get_column("problem")


# --- dates ------------------------------------------------------------------------------------

# Tried in order; the first that parses wins. Day-first before month-first, as in most DTM countries.
DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%m/%d/%Y",
    "%B-%d-%Y", "%b-%d-%Y", "%d-%B-%Y", "%d-%b-%Y", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y",
    "%B %d %Y", "%d-%b-%y", "%B %Y", "%b %Y", "%Y%m%d",
]
_EXCEL_EPOCH = date(1899, 12, 30)


def _date_candidates(raw: pl.Expr, formats: list[str] | None) -> list[pl.Expr]:
    """Date expressions, one per spelling, in the order they are tried: the first non-null wins."""
    text = raw.cast(pl.String).str.strip_chars()
    # keep the date part of ISO datetimes: "2022-01-31 00:00:00" / "2017-03-30T00:00:00.000Z"
    iso = text.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})(?:[T ].*)?$", 1)
    candidates = [iso.str.to_date("%Y-%m-%d", strict=False)] if formats is None else []
    for fmt in formats or DATE_FORMATS:
        candidates.append(text.str.to_date(fmt, strict=False))
    if formats is None:
        serial = text.cast(pl.Float64, strict=False)
        in_range = serial.is_between(20000, 80000)  # 1954 .. 2119
        candidates.append(
            pl.when(in_range).then(pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial.floor().cast(pl.Int64)))
        )
    return candidates


def parse_dates(raw: pl.Expr, formats: list[str] | None = None) -> pl.Expr:
    """A Date expression from text cells in any of the usual spellings.

    "2022-01-31 00:00:00", "2017-03-30T00:00:00", "April-30-2022", "30/04/2022", and Excel serial
    day numbers ("44681") all parse. Unparseable cells become null (the caller reports them).
    """
    return pl.coalesce(_date_candidates(raw, formats)).cast(pl.Date)


def parse_dates_repeated(raw: pl.Expr, formats: list[str] | None = None) -> pl.Expr:
    """`parse_dates` for a column of the file: each distinct text is parsed once.

    A round's file repeats a handful of dates over many rows; trying twenty formats on every
    row would dominate the import time.
    """

    def apply(series: pl.Series) -> pl.Series:
        distinct = pl.DataFrame({"k": series.unique()})
        # A file writes its dates one way, usually the first tried: the other spellings are tried on
        # the texts it does not parse only (the same dates as `parse_dates`: the first that parses wins).
        first, *others = _date_candidates(pl.col("k"), formats)
        distinct = distinct.with_columns(first.cast(pl.Date).alias("d"))
        failed = distinct.filter(pl.col("d").is_null())
        if others and failed.height:
            redone = failed.select("k", pl.coalesce(others).cast(pl.Date).alias("d"))
            distinct = pl.concat([distinct.filter(pl.col("d").is_not_null()), redone])
        out = pl.DataFrame({"k": series}).join(distinct, on="k", how="left", nulls_equal=True, maintain_order="left")
        return out.get_column("d").alias(series.name)

    return raw.map_batches(apply, return_dtype=pl.Date)


# --- round numbers ----------------------------------------------------------------------------

_ROUND_IN_TEXT = re.compile(r"(?i)(?:^|[^a-z])(?:round|rnd|r)[\s_\-#.]*0*(\d{1,4})(?![0-9])")


def parse_round(raw: pl.Expr) -> pl.Expr:
    """Round numbers from '38', '38.0', 'R38', 'Round 11', 'B2_01' (baseline 2, round 1)."""
    text = raw.cast(pl.String).str.strip_chars()
    return pl.coalesce(
        text.cast(pl.Float64, strict=False).cast(pl.Int32, strict=False),
        text.str.extract(r"(?i)(?:round|rnd|r)[\s_\-#.]*0*(\d{1,4})", 1).cast(pl.Int32, strict=False),
        text.str.extract(r"(\d{1,4})\s*$", 1).cast(pl.Int32, strict=False),
    )


def round_from_name(name: str) -> int | None:
    """'iom_dtm_libya_baseline_assessment_round_39.xlsx' -> 39; 'R13 report' -> 13."""
    stem = name.rsplit(".", 1)[0]
    m = _ROUND_IN_TEXT.search(stem)
    return int(m.group(1)) if m else None


# --- dates in file names ------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"], start=1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def date_from_name(name: str) -> tuple[date, str] | None:
    """A date written in a file name, and how it was read.

    '..._25_september_2023.xlsx' -> 2023-09-25; '..._2023-09-30...' -> 2023-09-30;
    '..._september_2023...' -> 2023-09-30 (a month alone: its last day, as DTM reports month ends).
    """
    import calendar

    stem = name.rsplit(".", 1)[0].lower()
    sep = r"[_\-. ]"
    m = re.search(rf"(?<!\d)(\d{{1,2}}){sep}([a-z]+){sep}(\d{{4}})(?!\d)", stem)
    if m and m.group(2) in _MONTHS:
        try:
            return date(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1))), "day month year"
        except ValueError:
            pass
    m = re.search(rf"(?<!\d)(20\d{{2}}|19\d{{2}}){sep}?(\d{{2}}){sep}?(\d{{2}})(?!\d)", stem)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), "year month day"
        except ValueError:
            pass
    m = re.search(rf"(?<![a-z])([a-z]+){sep}(\d{{4}})(?!\d)", stem)
    if m and m.group(1) in _MONTHS:
        year, month = int(m.group(2)), _MONTHS[m.group(1)]
        return date(year, month, calendar.monthrange(year, month)[1]), "month year: its last day"
    return None
