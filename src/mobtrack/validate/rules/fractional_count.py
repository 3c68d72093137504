"""A count has a decimal part."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, rule
from mobtrack.validate.rules._common import count_text, is_fractional


@rule
class FractionalCount(RowRule):
    slug = "fractional-count"
    severity = Severity.ERROR
    description = "A count has a decimal part (people and households are counted in whole numbers)."
    message = "count {value} has a decimal part; counts are whole numbers"
    fix = ("Check where the figure comes from: an average (e.g. household size) or an estimate "
           "multiplied out does not belong in a count column. Enter the whole count.")
    example = {"value": "12.5"}
    columns = ("value", "raw_value")

    def when(self, ctx: RuleContext) -> pl.Expr:
        return is_fractional()

    def extra(self, ctx: RuleContext) -> list[pl.Expr]:
        return [count_text()]
