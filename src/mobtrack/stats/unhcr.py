"""UNHCR Refugee Data Finder tables: population, asylum applications and decisions, flows, solutions,
demographics, and UNHCR's republication of IDMC's conflict IDPs and of UNRWA's Palestine refugees.

Every table has `year, coo_name, coo, coo_iso, coa_name, coa, coa_iso` (origin and country of asylum,
each as name, UNHCR code and ISO code; one code per side is enough) followed by numeric columns (the measures: refugees,
asylum_seekers, applied, dec_recognized...) and, in some, categories (procedure_type, pop_type...),
which are kept per fact as `detail`. Empty cells and zeros are not stored: UNHCR fills both for
"nothing to report", and a stored zero would only slow every query down.

The Refugee Data Finder's download page writes the same tables with long headers ("Country of origin
(ISO)", "Refugees under UNHCR's mandate"...); those are renamed to the short ones first (HEADERS).
"""

from __future__ import annotations

import re
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

SOURCE = "unhcr"
KEYS = ["year", "coo_name", "coo", "coo_iso", "coa_name", "coa", "coa_iso"]
HEADERS = {
    "country of origin": "coo_name", "country of origin (iso)": "coo_iso", "country of origin code": "coo",
    "country of asylum": "coa_name", "country of asylum (iso)": "coa_iso", "country of asylum code": "coa",
    "refugees under unhcr's mandate": "refugees", "asylum-seekers": "asylum_seekers",
    "returned refugees": "returned_refugees", "idps of concern to unhcr": "idps", "returned idps": "returned_idps",
    "stateless persons": "stateless", "others of concern": "ooc", "others of concern to unhcr": "ooc",
    "other people in need of international protection": "oip", "host community": "hst",
}


def _normalise_headers(columns: list[str]) -> dict[str, str]:
    return {c: HEADERS.get(c.strip().lower(), c.strip().lower()) for c in columns}


def _has_keys(cols: set[str]) -> bool:
    return "year" in cols and all({side, f"{side}_iso"} & cols for side in ("coo", "coa"))

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
KNOWN_MEASURES = {"refugees", "asylum_seekers", "returned_refugees", "idps", "returned_idps", "stateless", "ooc",
                  "oip", "hst", "applied", "dec_recognized", "dec_other", "dec_rejected", "dec_closed", "dec_total",
                  "refugee_like", "resettlement", "naturalisation", "total"}


def sniff(columns: list[str], name: str) -> str | None:
    cols = set(_normalise_headers(columns).values())
    if not _has_keys(cols):
        return None
    for column, dataset in SIGNATURES:
        if column in cols:
            return dataset
    for word, (dataset, _measure) in TOTAL_ONLY.items():
        if "total" in cols and re.search(word, name.lower()):
            return dataset
    return "unhcr_other"


def read(path: Path, crosswalk: Crosswalk, year: int | None = None) -> Parsed:
    frame = read_table(path)
    frame = frame.rename(_normalise_headers(frame.columns))
    dataset = sniff(frame.columns, path.name)
    if dataset is None:
        raise LoadError(f"{path.name}: not a UNHCR table; needs year and, for origin and asylum, "
                        "coo/coa or coo_iso/coa_iso")
    frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(k) for k in KEYS if k not in frame.columns])
    if dataset == "unhcr_other":
        raise LoadError(
            f"{path.name}: a UNHCR table, but not one mobtrack knows (population, asylum_applications, "
            "asylum_decisions, flows, solutions, demographics, idmc, unrwa); name the file after its table")
    rows_read = len(frame)
    file = path.name
    frame, issues = parse_year(frame, "year", file)
    others = [c for c in frame.columns if c not in KEYS and c != "row"]
    # A measure is a known UNHCR measure, or a column whose filled cells are (nearly) all numbers;
    # anything else is a category. Known measures stay measures even when every cell is bad, so the
    # bad cells are reported instead of becoming categories.
    numeric = {c for c in others if c in KNOWN_MEASURES} | {c for c in others
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
