"""The reporting date lies outside the round's data-collection period."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, Setting, rule


@rule
class DateOutsidePeriod(RowRule):
    slug = "date-outside-period"
    # a warning: the figures are not wrong, but the time axis of every chart uses this date
    severity = Severity.WARNING
    description = "The reporting date lies outside the round's period (period_start to period_end)."
    message = "reporting date {value} is outside the round's period {period_start} to {period_end}"
    fix = ("Check the reporting date and the period in the source (often a wrong year, or day and month "
           "swapped). If publication legitimately lags the period, raise `period_grace_days`.")
    example = {"value": "2023-06-30", "period_start": "2024-05-01", "period_end": "2024-05-31"}
    settings = (Setting("period_grace_days", 0,
                        "Days the reporting date may fall before the start or after the end of the period."),)
    columns = ("reporting_date", "period_start", "period_end")
    column = "reporting_date"
    value = "reporting_date"

    def when(self, ctx: RuleContext) -> pl.Expr:
        grace = dt.timedelta(days=int(self.setting(ctx, "period_grace_days")))
        d = pl.col("reporting_date")
        before = d < pl.col("period_start") - grace
        after = d > pl.col("period_end") + grace
        # a reversed period is implausible-date's to report; comparing against it would double count
        ordered = pl.col("period_start").is_null() | pl.col("period_end").is_null() | (
            pl.col("period_start") <= pl.col("period_end"))
        return (before.fill_null(False) | after.fill_null(False)) & ordered
