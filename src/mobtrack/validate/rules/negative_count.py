"""A count is below zero."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, rule
from mobtrack.validate.rules._common import DEFAULT_PLACEHOLDERS, count_text, is_negative


@rule
class NegativeCount(RowRule):
    slug = "negative-count"
    severity = Severity.ERROR
    description = "A count of people or households is negative."
    message = "count {value} is negative"
    fix = ("Correct the figure. A negative number is sometimes a change (new minus old) pasted into a "
           "count column, or a placeholder such as -1 or -99 for 'missing': write the count, or leave it empty.")
    example = {"value": "-12"}
    columns = ("value", "raw_value")

    def when(self, ctx: RuleContext) -> pl.Expr:
        return is_negative(ctx.setting("placeholders", DEFAULT_PLACEHOLDERS))

    def extra(self, ctx: RuleContext) -> list[pl.Expr]:
        return [count_text()]
