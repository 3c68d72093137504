"""A row has no count at all."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, rule
from mobtrack.validate.rules._common import is_empty


@rule
class EmptyCount(RowRule):
    slug = "empty-count"
    severity = Severity.WARNING  # empty means 'not reported', never zero, so no sum is wrong
    description = "A row's count cell is empty; it is treated as 'not reported' (not as zero)."
    message = "count is empty; the row is treated as not reported, not as zero"
    fix = "Enter the count, or 0 if none were found. Leave it empty only when the figure was not collected."
    example = {}
    columns = ("value", "raw_value")

    def when(self, ctx: RuleContext) -> pl.Expr:
        return is_empty()
