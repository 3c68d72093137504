"""A count cell holds a "not available" marker ("Not available", "-", "n/a", ...) instead of a number."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, Setting, rule
from mobtrack.validate.rules._common import DEFAULT_PLACEHOLDERS, count_text, is_placeholder


@rule
class PlaceholderCount(RowRule):
    slug = "placeholder-count"
    severity = Severity.WARNING  # the figure is absent, not wrong: it is left out of every sum
    description = "A count holds a placeholder such as 'Not available', '-' or 'n/a' instead of a number."
    message = "count is {value!r}, a placeholder for 'not available'; the row is left out of all sums"
    fix = ("Nothing to do if the figure really was not collected. If it was, enter the number; "
           "if the placeholder means zero, write 0.")
    example = {"value": "Not available"}
    settings = (Setting("placeholders", DEFAULT_PLACEHOLDERS,
                        "Texts (case-insensitive, trimmed) read as 'not available' in count cells."),)
    columns = ("value", "raw_value")

    def when(self, ctx: RuleContext) -> pl.Expr:
        return is_placeholder(self.setting(ctx, "placeholders"))

    def extra(self, ctx: RuleContext) -> list[pl.Expr]:
        return [count_text()]
