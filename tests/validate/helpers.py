"""Small canonical frames for rule tests, and the flattened view their assertions read."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mobtrack.model import conform
from mobtrack.validate import MATCH_COLUMNS, Issue, RuleContext, check_round, check_rows

BASE = {
    "operation": "Synthetic operation", "country_iso3": "SOM", "assessment_type": "BA", "round_number": 3,
    "reporting_date": dt.date(2024, 5, 31), "period_start": dt.date(2024, 5, 1), "period_end": dt.date(2024, 5, 31),
    "admin_level": 1, "adm1_pcode": "SO11", "adm1_name": "Bay", "population_group": "idps",
    "unit": "individuals", "role": "total", "value": 100, "source_sheet": "data", "source_column": "#affected+idp",
}


def frame(*rows: dict, matched: bool = False) -> pl.DataFrame:
    """Canonical records: BASE overridden by each row; source_row numbers rows 2, 3, ... unless given.
    `matched` adds the gazetteer's columns (p-code = adm1/adm2 code given, status matched)."""
    out = []
    for i, row in enumerate(rows):
        out.append(BASE | {"source_row": i + 2} | row)
    records = conform(pl.DataFrame(out, infer_schema_length=None))
    if matched:
        extra = {k: v for k, v in MATCH_COLUMNS.items() if k not in records.columns}
        records = records.with_columns(pl.lit(None, dtype=t).alias(k) for k, t in extra.items())
        pcode = pl.coalesce("site_code", "adm4_pcode", "adm3_pcode", "adm2_pcode", "adm1_pcode")
        records = records.with_columns(
            pl.col("location_pcode").fill_null(pcode) if "location_pcode" not in rows[0] else pl.col("location_pcode"),
            pl.col("match_status").fill_null(pl.lit("matched")),
        )
    return records


def flat(issues: list[Issue], rule: str | None = None) -> list[tuple]:
    """(row, column, rule) per issue, frictionless-style; optionally only one rule's."""
    return [(i.row, i.column, i.rule) for i in issues if rule is None or i.rule == rule]


def rows(records: pl.DataFrame, ctx: RuleContext | None = None, rule: str | None = None) -> list[tuple]:
    return flat(check_rows(records, ctx or RuleContext("test.csv")), rule)


def round_(records: pl.DataFrame, ctx: RuleContext | None = None, rule: str | None = None) -> list[tuple]:
    return flat(check_round(records, ctx or RuleContext("test.csv")), rule)
