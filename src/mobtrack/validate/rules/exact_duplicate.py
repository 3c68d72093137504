"""The same cell is given twice with the same count."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RoundRule, RuleContext, rule
from mobtrack.validate.rules._common import ROUND_KEY
from mobtrack.validate.rules._duplicates import findings, repeated_rows


@rule
class ExactDuplicate(RoundRule):
    slug = "exact-duplicate"
    # a warning because the import keeps only the first of identical rows: no figure is wrong
    severity = Severity.WARNING
    description = ("Exact duplicate: a row repeats the round, place, population group, unit, role and "
                   "disaggregation of an earlier row with the same count. Only the first is kept.")
    message = "exact duplicate of row {first_source_row}{first_where} (same place, group, unit and breakdown, same count)"
    fix = "Delete the repeated row (often a sheet pasted twice, or the same site listed under two names)."
    example = {"first_source_row": 12, "first_where": ""}
    columns = (*ROUND_KEY, "population_group", "unit", "role", "value", "raw_value")

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        rows = repeated_rows(records, ctx)
        return findings(rows.filter(pl.col("same")) if rows.height else rows)
