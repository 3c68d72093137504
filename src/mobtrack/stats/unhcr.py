"""UNHCR Refugee Data Finder tables: population, asylum applications and decisions, flows, solutions,
demographics, and UNHCR's republication of IDMC's conflict IDPs and of UNRWA's Palestine refugees.

Every table has `year, coo_name, coo, coo_iso, coa_name, coa, coa_iso` (origin and country of asylum,
each as name, UNHCR code and ISO code) followed by numeric columns (the measures: refugees,
asylum_seekers, applied, dec_recognized...) and, in some, categories (procedure_type, pop_type...),
which are kept per fact as `detail`. Empty cells and zeros are not stored: UNHCR fills both for
"nothing to report", and a stored zero would only slow every query down.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.facts import (
    LoadError,
    Parsed,
    add_row_numbers,
    conform,
    map_countries,
    parse_numbers,
    parse_year,
)

SOURCE = "unhcr"
KEYS = ["year", "coo_name", "coo", "coo_iso", "coa_name", "coa", "coa_iso"]

# Which table a header is, by a column only that table has; the total-only tables by file name.
SIGNATURES = [
    ("applied", "unhcr_asylum_applications"),
    ("dec_total", "unhcr_asylum_decisions"),
    ("f_total", "unhcr_demographics"),
    ("resettlement", "unhcr_solutions"),
    ("refugee_like", "unhcr_flows"),
    ("stateless", "unhcr_population"),
]
TOTAL_ONLY = {"idmc": ("unhcr_idmc", "idps"), "unrwa": ("unhcr_unrwa", "refugees")}


def sniff(columns: list[str], name: str) -> str | None:
    cols = {c.lower() for c in columns}
    if not set(KEYS) <= cols:
        return None
    for column, dataset in SIGNATURES:
        if column in cols:
            return dataset
    for word, (dataset, _measure) in TOTAL_ONLY.items():
        if "total" in cols and re.search(word, name.lower()):
            return dataset
    return "unhcr_other"


def read(path: Path, crosswalk: Crosswalk, year: int | None = None) -> Parsed:
    frame = pl.read_csv(path, infer_schema_length=0)
    frame = frame.rename({c: c.lower() for c in frame.columns})
    dataset = sniff(frame.columns, path.name)
    if dataset is None:
        raise LoadError(f"{path.name}: not a UNHCR table; needs columns {KEYS}")
    if dataset == "unhcr_other":
        raise LoadError(
            f"{path.name}: a UNHCR table, but not one mobtrack knows (population, asylum_applications, "
            "asylum_decisions, flows, solutions, demographics, idmc, unrwa); name the file after its table")
    rows_read = len(frame)
    file = path.name
    frame = add_row_numbers(frame)
    frame, issues = parse_year(frame, "year", file)
    others = [c for c in frame.columns if c not in KEYS and c != "row"]
    # A measure is a column whose filled cells are all numbers; anything else is a category.
    numeric = {c for c in others
               if frame[c].drop_nulls().str.strip_chars().str.replace_all(",", "")
               .cast(pl.Float64, strict=False).null_count() * 10 <= frame[c].drop_nulls().len()}
    measures = [c for c in others if c in numeric]
    categories = [c for c in others if c not in numeric]
    if not measures:
        raise LoadError(f"{file}: no numeric columns to load")
    frame, more = parse_numbers(frame, measures, file)
    issues += more
    for side in ("coo", "coa"):
        frame, more = map_countries(frame, f"{side}_iso", "iso3", crosswalk, file, fallback=(side, "unhcr"))
        issues += more
    detail = (pl.concat_str([pl.format(f"{c}={{}}", pl.col(c).fill_null("")) for c in categories], separator=";")
              if categories else pl.lit(None, dtype=pl.String))
    total_as = [measure for ds, measure in TOTAL_ONLY.values() if ds == dataset]
    rename = {"total": total_as[0]} if total_as else {}
    long = (
        frame.select("row", "year", pl.col("coo_iso").alias("origin"), pl.col("coa_iso").alias("destination"),
                     detail.alias("detail"), *measures)
        .unpivot(index=["row", "year", "origin", "destination", "detail"], on=measures,
                 variable_name="measure", value_name="value")
        .filter(pl.col("value").is_not_null() & (pl.col("value") != 0))
        .with_columns(pl.col("measure").replace(rename))
        .sort("row", "measure")
    )
    facts = conform(long)
    if facts.is_empty():
        raise LoadError(f"{file}: no usable rows ({len(issues)} rejected)")
    return Parsed(SOURCE, dataset, str(int(facts["year"].max())), facts, rows_read, issues, bilateral=True)
