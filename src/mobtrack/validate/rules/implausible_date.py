"""A date is in the future, before 1990, or a period ends before it starts."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, Setting, round_id, rule

DATE_COLUMNS = ("reporting_date", "period_start", "period_end")


@rule
class ImplausibleDate(RowRule):
    slug = "implausible-date"
    severity = Severity.ERROR
    description = ("A reporting date or period date lies in the future or before the earliest plausible "
                   "date (1990 by default), or a period ends before it starts.")
    message = "{column} {value} {problem}"
    fix = ("Check the date format (day and month swapped? two-digit year read as 19xx or 20xx?) and the "
           "year. Unreadable dates are reported by the adapter or as missing-required-field.")
    example = {"column": "reporting_date", "value": "2052-03-01", "problem": "is in the future"}
    settings = (
        Setting("earliest_date", dt.date(1990, 1, 1), "Dates before this are implausible."),
        Setting("today", None, "The date taken as 'today' (YYYY-MM-DD); default: the clock. Set it to "
                "re-validate an old file reproducibly."),
    )
    columns = DATE_COLUMNS

    def find(self, records: pl.DataFrame, ctx: RuleContext, mask: pl.Series | None = None) -> pl.DataFrame:
        earliest = self.setting(ctx, "earliest_date")
        today = ctx.setting("today", None)
        today = dt.date.fromisoformat(str(today)) if today else dt.date.today()
        checks = []
        for col in DATE_COLUMNS:
            c = pl.col(col)
            checks.append((col, c > today, f"is in the future (after {today.isoformat()})"))
            checks.append((col, c < earliest, f"is before {earliest.isoformat()}, too early to be plausible"))
        checks.append(("period_end", pl.col("period_end") < pl.col("period_start"), "is before the period start"))
        masks = records.select(expr.fill_null(False).alias(str(i)) for i, (_, expr, _) in enumerate(checks))
        hits = masks.select(pl.all().any()).row(0)
        found = [
            records.filter(masks.get_column(str(i))).select(
                "source_sheet", "source_row", pl.lit(col).alias("column"),
                pl.col(col).cast(pl.String).alias("value"), pl.lit(problem).alias("problem"), *round_id(records))
            for i, ((col, _, problem), hit) in enumerate(zip(checks, hits, strict=True)) if hit
        ]
        if not found:
            return pl.DataFrame(schema={"source_sheet": pl.String, "source_row": pl.Int64})
        return pl.concat(found)
