"""A count cell holds text that is not a number (and is not a known placeholder)."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, rule
from mobtrack.validate.rules._common import DEFAULT_PLACEHOLDERS, count_text, is_non_numeric


@rule
class NonNumericCount(RowRule):
    slug = "non-numeric-count"
    severity = Severity.ERROR
    description = ("A count holds text that could not be read as a whole number "
                   "(letters, thousands separators, formulas, ...).")
    message = "count {value!r} could not be read as a whole number"
    fix = ("Write the count as digits only (1234, not '1,234' or '1 234'); if the cell means 'not "
           "available', use one of the placeholders listed under `placeholders` (placeholder-count).")
    example = {"value": "12O"}
    columns = ("value", "raw_value")

    def when(self, ctx: RuleContext) -> pl.Expr:
        return is_non_numeric(ctx.setting("placeholders", DEFAULT_PLACEHOLDERS))

    def extra(self, ctx: RuleContext) -> list[pl.Expr]:
        return [count_text()]
