"""Check and normalise the long input frame every forecast starts from.

The engine takes one shape only: `series_id, date, value` plus optional hierarchy columns
(`country, admin1, admin2`...). A CSV, the store (`mobtrack.analytics.series(...)`) or a
benchmark loader all produce it, so everything downstream can assume clean types.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FREQS = {"W": "1w", "M": "1mo", "Y": "1y"}
SEASON_LENGTH = {"W": 52, "M": 12, "Y": 1}


class ForesightInputError(ValueError):
    """Input the engine refuses, with a message a user can act on."""


def check_freq(freq: str) -> str:
    freq = freq.upper()
    if freq not in FREQS:
        raise ForesightInputError(f"freq must be one of W, M, Y (got {freq!r})")
    return freq


def read_long_csv(path: str | Path, hierarchy: list[str] | None = None) -> pl.DataFrame:
    """Read a long CSV, keeping every column as text first so bad cells can be reported by row."""
    path = Path(path)
    if not path.is_file():
        raise ForesightInputError(f"{path}: file not found")
    try:
        raw = pl.read_csv(path, infer_schema_length=0)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise ForesightInputError(f"{path}: not a readable CSV ({exc})") from exc
    return normalise(raw, hierarchy=hierarchy, source=str(path))


def normalise(frame: pl.DataFrame, hierarchy: list[str] | None = None, source: str = "input") -> pl.DataFrame:
    """Validate a long frame and return `series_id, date, value, *hierarchy` with proper types.

    Row numbers in errors are 1-based data rows (the header is row 1 in a CSV, so data row 1 is
    line 2). Duplicated (series_id, date) rows are an error, not silently summed: a duplicated
    row in a field export is usually a re-submitted form, and adding it would double count.
    """
    hierarchy = list(hierarchy or [])
    required = ["date", "value"] + ([] if hierarchy else ["series_id"])
    missing = [c for c in required + hierarchy if c not in frame.columns]
    if missing:
        raise ForesightInputError(f"{source}: missing column(s) {', '.join(missing)}; have {', '.join(frame.columns)}")
    if frame.height == 0:
        raise ForesightInputError(f"{source}: no data rows")

    df = frame.with_row_index("_row", offset=1)
    if "series_id" not in df.columns:
        # Without a series_id the leaf of the hierarchy path names the series.
        df = df.with_columns(pl.concat_str([pl.col(c).cast(pl.Utf8) for c in hierarchy], separator="/").alias("series_id"))
    df = df.with_columns(
        pl.col("series_id").cast(pl.Utf8).str.strip_chars(),
        _parse_date(pl.col("date")).alias("_date"),
        pl.col("value").cast(pl.Utf8, strict=False).str.strip_chars().cast(pl.Float64, strict=False).alias("_value")
        if df.schema["value"] == pl.Utf8
        else pl.col("value").cast(pl.Float64, strict=False).alias("_value"),
        *[pl.col(c).cast(pl.Utf8).str.strip_chars() for c in hierarchy],
    )
    _report(df.filter(pl.col("series_id").is_null() | (pl.col("series_id") == "")), "series_id", "empty", source)
    _report(df.filter(pl.col("_date").is_null()), "date", "not a date (use YYYY-MM-DD or YYYY-MM)", source)
    _report(df.filter(pl.col("_value").is_null() & pl.col("value").is_not_null()), "value", "not a number", source)
    _report(df.filter(pl.col("_value") < 0), "value", "negative count", source)
    _report(df.filter(pl.col("_value").is_nan() | pl.col("_value").is_infinite()), "value", "not finite", source)
    for col in hierarchy:
        _report(df.filter(pl.col(col).is_null() | (pl.col(col) == "")), col, "empty hierarchy value", source)
        _report(df.filter(pl.col(col).str.contains("/")), col, "contains '/', which separates hierarchy levels", source)

    dupes = df.filter(pl.struct("series_id", "_date").is_duplicated())
    _report(dupes, "date", "duplicated (series_id, date)", source)
    if hierarchy:
        paths = df.group_by("series_id").agg(pl.struct(hierarchy).n_unique().alias("n"))
        bad = paths.filter(pl.col("n") > 1)["series_id"].to_list()
        if bad:
            raise ForesightInputError(f"{source}: series {bad[:5]} sit under more than one hierarchy path")

    # Missing values (empty cells) are dropped: they are gaps, which the grid makes explicit.
    out = df.filter(pl.col("_value").is_not_null()).select(
        "series_id", pl.col("_date").alias("date"), pl.col("_value").alias("value"), *hierarchy
    )
    return out.sort("series_id", "date")


def _parse_date(col: pl.Expr) -> pl.Expr:
    text = col.cast(pl.Utf8).str.strip_chars()
    return pl.coalesce(
        text.str.to_date("%Y-%m-%d", strict=False),
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        (text + "-01").str.to_date("%Y-%m-%d", strict=False),
        (text + "-01-01").str.to_date("%Y-%m-%d", strict=False),
    )


def _report(bad: pl.DataFrame, column: str, reason: str, source: str) -> None:
    if bad.height:
        rows = ", ".join(str(r) for r in bad["_row"].head(10).to_list())
        more = f" (and {bad.height - 10} more)" if bad.height > 10 else ""
        raise ForesightInputError(f"{source}: column {column!r}: {reason} in data row(s) {rows}{more}")
