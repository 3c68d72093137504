"""What every statistics loader returns, and the vectorised checks they share.

A loader turns one file into *facts*: one row per value, in the columns of FACT_SCHEMA, each carrying
the 1-based line of the source file it came from (the header is line 1). Rows it cannot use become
issues with file, row, column and reason; they are never dropped silently and never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.validate.issue import Issue

FACT_SCHEMA = {
    "row": pl.Int64,
    "year": pl.Int16,
    "origin": pl.String,
    "destination": pl.String,
    "measure": pl.String,
    "sex": pl.String,
    "age": pl.String,
    "cause": pl.String,
    "detail": pl.String,
    "value": pl.Float64,
}
FACT_COLUMNS = list(FACT_SCHEMA)
NIL_MARKERS = ["-", "..", "\u2013"]  # UN statistical tables: nil, not available, en dash


@dataclass
class Parsed:
    source: str  # undesa | unhcr | idmc | worldbank
    dataset: str  # undesa_stock, unhcr_population, ...
    edition: str
    facts: pl.DataFrame
    rows_read: int
    issues: list[Issue] = field(default_factory=list)
    bilateral: bool = True  # origin and destination are different countries (OD-capable)


class LoadError(Exception):
    """The file cannot be loaded at all (wrong format, no rows...); nothing was written."""


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """The facts in canonical column order and types; missing dimensions become nulls ('total' for sex)."""
    exprs = []
    for name, dtype in FACT_SCHEMA.items():
        if name in frame.columns and dtype == pl.String:
            # "" and null must be one thing: PostgreSQL's COPY would turn one into the other.
            exprs.append(pl.col(name).cast(dtype).replace("", None))
        elif name in frame.columns:
            exprs.append(pl.col(name).cast(dtype))
        elif name == "sex":
            exprs.append(pl.lit("total", dtype=pl.String).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)


def issues_from(bad: pl.DataFrame, file: str, column: str, rule: str, message: str,
                value_column: str | None = None) -> list[Issue]:
    """One error issue per row of `bad` (which has a `row` column); `{value}` in message is filled in."""
    values = bad[value_column or column].cast(pl.String).to_list() if (value_column or column) in bad.columns else [None] * len(bad)
    return [
        Issue(Severity.ERROR, rule, message.format(value=v), file=file, row=int(r), column=column, value=v)
        for r, v in zip(bad["row"].to_list(), values, strict=True)
    ]


def read_table(path, separator: str = ",") -> pl.DataFrame:
    """A CSV as text columns, with `row` = its line number in the file. An HXL hashtag row under the
    header (as on HDX: `#country+code,#date+year,...`) is skipped and counted as a header line."""
    try:
        frame = pl.read_csv(path, infer_schema_length=0, separator=separator)
    except pl.exceptions.PolarsError as exc:
        raise LoadError(f"{path.name}: cannot read as CSV ({exc})") from exc
    header_lines = 1
    if len(frame):
        first = [v.strip() for v in frame.row(0) if v and v.strip()]
        if first and all(v.startswith("#") for v in first):
            frame, header_lines = frame.slice(1), 2
    return add_row_numbers(frame, header_lines)


def add_row_numbers(frame: pl.DataFrame, header_lines: int = 1) -> pl.DataFrame:
    return frame.with_row_index("row", offset=header_lines + 1).with_columns(pl.col("row").cast(pl.Int64))


def parse_numbers(frame: pl.DataFrame, columns: list[str], file: str) -> tuple[pl.DataFrame, list[Issue]]:
    """Cast text columns to float. Empty cells, and the UN table conventions '-' (nil) and '..' (not
    available), are 'not reported' (null, not an error); other text such as 'Not available', or a
    negative count, rejects the row, with the column named."""
    def text(col: str) -> pl.Expr:
        raw = pl.col(col).cast(pl.String).str.strip_chars()
        return pl.when(raw.is_in(NIL_MARKERS)).then(pl.lit("")).otherwise(raw)

    def number(col: str) -> pl.Expr:
        # Thousands separators are common in hand-made exports ("1,234"); nothing else is forgiven.
        return text(col).str.replace_all(",", "").cast(pl.Float64, strict=False)

    def bad_text(col: str) -> pl.Expr:
        return (text(col).is_not_null() & (text(col) != "") & number(col).is_null()).fill_null(False)

    def bad_sign(col: str) -> pl.Expr:
        return (number(col) < 0).fill_null(False)

    checks = [(col, kind, mask) for col in columns for kind, mask in (("text", bad_text(col)), ("sign", bad_sign(col)))]
    # One pass counts every problem; the per-row issues are built only for columns that have some.
    counts = frame.select([mask.sum().alias(f"{col}:{kind}") for col, kind, mask in checks]).row(0)
    issues: list[Issue] = []
    keep = pl.lit(True)
    for (col, kind, mask), n in zip(checks, counts, strict=True):
        if not n:
            continue
        rule, message = (("non-numeric-count", "value {value!r} is not a number") if kind == "text"
                         else ("negative-count", "value {value} is negative"))
        issues += issues_from(frame.filter(mask), file, col, rule, message)
        keep = keep & ~mask
    return frame.filter(keep).with_columns([number(c).alias(c) for c in columns]), issues


def parse_year(frame: pl.DataFrame, column: str, file: str) -> tuple[pl.DataFrame, list[Issue]]:
    year = pl.col(column).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    valid = year.is_not_null() & (year == year.floor()) & year.is_between(1900, 2100)
    bad = frame.filter(~valid)
    issues = issues_from(bad, file, column, "bad-year", "year {value!r} is not a year between 1900 and 2100")
    return frame.filter(valid).with_columns(year.cast(pl.Int16).alias(column)), issues


def map_countries(frame: pl.DataFrame, column: str, system: str, crosswalk: Crosswalk, file: str,
                  fallback: tuple[str, str] | None = None) -> tuple[pl.DataFrame, list[Issue]]:
    """Replace a code/name column by mobtrack codes through the crosswalk; unmapped rows are rejected.

    `fallback=(column, system)` is tried where the first column is empty or unmapped (UNHCR gives both an
    ISO code, sometimes blank, and its own code)."""
    mapping = crosswalk.mapping(frame[column].cast(pl.String), system).rename({"value": column, "code": "_code"})
    out = frame.with_columns(pl.col(column).cast(pl.String)).join(mapping.drop("reason"), on=column, how="left")
    if fallback is not None:
        fb_col, fb_system = fallback
        fb = crosswalk.mapping(out[fb_col].cast(pl.String), fb_system).rename({"value": fb_col, "code": "_fb"})
        out = out.with_columns(pl.col(fb_col).cast(pl.String)).join(fb.drop("reason"), on=fb_col, how="left")
        out = out.with_columns(pl.coalesce("_code", "_fb").alias("_code")).drop("_fb")
    bad = out.filter(pl.col("_code").is_null())
    issues = []
    if len(bad):
        reasons = dict(zip(mapping[column].to_list(), mapping["reason"].to_list(), strict=True))
        others = bad[fallback[0]].to_list() if fallback else [None] * len(bad)
        for r, v, other in zip(bad["row"].to_list(), bad[column].to_list(), others, strict=True):
            why = reasons.get(v) or "empty"
            shown = v if fallback is None else f"{v} / {other}"
            issues.append(Issue(Severity.ERROR, "unknown-country", f"country {shown!r} not in the crosswalk: {why}",
                                file=file, row=int(r), column=column, value=v))
    return out.filter(pl.col("_code").is_not_null()).with_columns(pl.col("_code").alias(column)).drop("_code"), issues


def reject_duplicates(facts: pl.DataFrame, file: str) -> tuple[pl.DataFrame, list[Issue]]:
    """The same fact twice would be summed twice. An exact repeat keeps its first row and rejects the
    others; repeats that disagree are all rejected, because nothing says which one is right."""
    key = [c for c in FACT_COLUMNS if c not in ("row", "value")]
    grouped = facts.with_columns(
        pl.len().over(key, mapping_strategy="group_to_rows").alias("_n"),
        pl.col("value").n_unique().over(key).alias("_values"),
        pl.col("row").min().over(key).alias("_first"),
    )
    if grouped["_n"].max() in (None, 1):
        return facts, []
    repeat = (pl.col("_n") > 1) & (pl.col("_values") == 1) & (pl.col("row") != pl.col("_first"))
    conflict = (pl.col("_n") > 1) & (pl.col("_values") > 1)
    issues = [
        Issue(Severity.ERROR, "duplicate-row", f"repeats row {first} (same country, year and categories)",
              file=file, row=int(row), column=None, value=None)
        for row, first in grouped.filter(repeat).select("row", "_first").iter_rows()
    ] + [
        Issue(Severity.ERROR, "conflicting-duplicate",
              f"row {first} and this row give different values for the same fact ({value:g}); both rejected",
              file=file, row=int(row), column="value", value=f"{value:g}")
        for row, first, value in grouped.filter(conflict).select("row", "_first", "value").iter_rows()
    ]
    return grouped.filter(~repeat & ~conflict).drop("_n", "_values", "_first"), issues


def sum_preferring_totals(facts: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sum `value` per `keys`. Where a source gives a 'total' sex row next to female/male rows for the
    same age, cause and category, only the total counts, so the sexes are not added twice."""
    is_total = pl.col("sex") == "total"
    within = [c for c in ("measure", "year", "origin", "destination", "age", "cause", "detail")
              if c in facts.columns and c not in keys]
    return (
        facts.group_by(*keys, *within)
        .agg(pl.when(is_total.any()).then(pl.col("value").filter(is_total).sum()).otherwise(pl.col("value").sum())
             .alias("value"),
             pl.when(is_total.any()).then(is_total.sum()).otherwise(pl.len()).alias("facts"))
        .group_by(*keys)
        .agg(pl.col("value").sum(), pl.col("facts").sum().cast(pl.Int32))
        .sort(*keys)
    )
