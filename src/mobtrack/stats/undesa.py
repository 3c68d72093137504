"""UN DESA International Migrant Stock: destination (`geo`) x origin (`from`) x sex x year.

Reads the tidy export (`geo,t,from,sex,n[,type_b,type_c,type_r,type_i]`) with countries as ISO3 codes
or as M49 numbers (UN DESA's own workbooks use M49; the crosswalk carries both). The `type_*` flags say
how the destination's estimate was built (B foreign-born, C foreign citizens, R refugees added,
I imputed) and are kept per fact as `detail`, because they change what the number means.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.facts import (
    LoadError,
    Parsed,
    conform,
    issues_from,
    map_countries,
    parse_numbers,
    parse_year,
    read_table,
)

SOURCE = "undesa"
REQUIRED = {"geo", "t", "from", "sex", "n"}
SEXES = {"female": "female", "male": "male", "total": "total", "both sexes": "total", "both": "total"}
TYPE_FLAGS = ("type_b", "type_c", "type_r", "type_i")


def sniff(columns: list[str], name: str) -> str | None:
    return "undesa_stock" if REQUIRED <= {c.lower() for c in columns} and "cause" not in columns else None


def _system(values: pl.Series) -> str:
    """M49 when every code is a number, ISO3 otherwise."""
    text = values.drop_nulls().cast(pl.String)
    return "m49" if len(text) and text.str.contains(r"^\d+(\.0+)?$").all() else "iso3"


def read(path: Path, crosswalk: Crosswalk, year: int | None = None) -> Parsed:
    frame = read_table(path)
    frame = frame.rename({c: c.lower() for c in frame.columns})
    if not REQUIRED <= set(frame.columns):
        raise LoadError(f"{path.name}: not a UN DESA migrant stock table; needs columns {sorted(REQUIRED)}")
    rows_read = len(frame)
    file = path.name
    frame, issues = parse_year(frame, "t", file)
    frame, more = parse_numbers(frame, ["n"], file)
    issues += more
    frame = frame.filter(pl.col("n").is_not_null())
    sex = pl.col("sex").str.strip_chars().str.to_lowercase().replace_strict(SEXES, default=None)
    bad = frame.filter(sex.is_null())
    issues += issues_from(bad, file, "sex", "unknown-sex", "sex {value!r} is not female, male or total")
    frame = frame.with_columns(sex.alias("sex")).filter(pl.col("sex").is_not_null())
    for column in ("geo", "from"):
        frame, more = map_countries(frame, column, _system(frame[column]), crosswalk, file)
        issues += more
    flags = [c for c in TYPE_FLAGS if c in frame.columns]
    detail = (
        pl.concat_str([pl.when(pl.col(c) == "1").then(pl.lit(c[-1].upper())) for c in flags], separator="+",
                      ignore_nulls=True)
        if flags else pl.lit(None, dtype=pl.String)
    )
    facts = conform(frame.select(
        "row", pl.col("t").alias("year"), pl.col("from").alias("origin"), pl.col("geo").alias("destination"),
        pl.lit("migrant_stock").alias("measure"), "sex", detail.alias("detail"), pl.col("n").alias("value"),
    ))
    if facts.is_empty():
        raise LoadError(f"{file}: no usable rows ({len(issues)} rejected)")
    edition = str(int(facts["year"].max()))
    return Parsed(SOURCE, "undesa_stock", edition, facts, rows_read, issues, bilateral=True)
