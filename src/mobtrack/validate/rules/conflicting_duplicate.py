"""The same cell is given twice with different counts."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RoundRule, RuleContext, rule
from mobtrack.validate.rules._common import ROUND_KEY
from mobtrack.validate.rules._duplicates import findings, repeated_rows


@rule
class ConflictingDuplicate(RoundRule):
    slug = "conflicting-duplicate"
    severity = Severity.ERROR  # which of the two counts is right cannot be decided here
    description = ("A row repeats the round, place, population group, unit, role and disaggregation of an "
                   "earlier row but with a different count.")
    message = ("count {value} conflicts with {first_value_text} at row {first_source_row}{first_where} "
               "for the same place, group, unit and breakdown")
    fix = ("Decide which count is right and delete the other row; if both are right, they describe "
           "different cells: add the missing disaggregation (sex, age, site type...) or place level.")
    example = {"value": "1200", "first_value_text": "1150", "first_source_row": 12, "first_where": ""}
    columns = (*ROUND_KEY, "population_group", "unit", "role", "value", "raw_value")

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        rows = repeated_rows(records, ctx)
        return findings(rows.filter(~pl.col("same")) if rows.height else rows)
