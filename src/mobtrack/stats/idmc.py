"""IDMC internal displacement: stocks (IDPs at year end, by cause, sex, age) and flows (new displacements
by cause: conflict, or the hazard of a disaster such as flood or storm).

Tidy exports `geo,t,cause,sex,age,n` (stocks) and `geo,t,cause,n` (new displacements). Displacement is
internal, so origin and destination are both the country. Zeros are kept: IDMC publishes a zero when it
looked and found none, which is not the same as no figure.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.facts import (
    LoadError,
    Parsed,
    conform,
    map_countries,
    parse_numbers,
    parse_year,
    read_table,
)

SOURCE = "idmc"
STOCK = {"geo", "t", "cause", "sex", "age", "n"}
FLOW = {"geo", "t", "cause", "n"}


def sniff(columns: list[str], name: str) -> str | None:
    cols = {c.lower() for c in columns}
    if STOCK <= cols:
        return "idmc_stock"
    if FLOW <= cols and "from" not in cols:
        return "idmc_flow"
    return None


def read(path: Path, crosswalk: Crosswalk, year: int | None = None) -> Parsed:
    frame = read_table(path)
    frame = frame.rename({c: c.lower() for c in frame.columns})
    dataset = sniff(frame.columns, path.name)
    if dataset is None:
        raise LoadError(f"{path.name}: not an IDMC table; needs columns {sorted(FLOW)} (+ sex, age for stocks)")
    rows_read = len(frame)
    file = path.name
    frame, issues = parse_year(frame, "t", file)
    frame, more = parse_numbers(frame, ["n"], file)
    issues += more
    frame, more = map_countries(frame.filter(pl.col("n").is_not_null()), "geo", "iso3", crosswalk, file)
    issues += more
    lower = {c: pl.col(c).str.strip_chars().str.to_lowercase() for c in ("cause", "sex", "age") if c in frame.columns}
    facts = conform(frame.with_columns(**lower).select(
        "row", pl.col("t").alias("year"), pl.col("geo").alias("origin"), pl.col("geo").alias("destination"),
        pl.lit("idps" if dataset == "idmc_stock" else "new_displacements").alias("measure"),
        *[c for c in ("cause", "sex", "age") if c in frame.columns], pl.col("n").alias("value"),
    ))
    if facts.is_empty():
        raise LoadError(f"{file}: no usable rows ({len(issues)} rejected)")
    return Parsed(SOURCE, dataset, str(int(facts["year"].max())), facts, rows_read, issues, bilateral=False)
