"""A field every observation needs is empty: operation, assessment type, round, date, place, group, unit, role."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, rule
from mobtrack.validate.rules._common import RAW_PLACE_COLUMNS

# field -> (label for messages, expression true when the field is missing)
_PLACE_GIVEN = pl.any_horizontal(
    *[pl.col(c).is_not_null() & (pl.col(c).cast(pl.String).str.strip_chars() != "")
      for c in RAW_PLACE_COLUMNS if c != "admin_level"],
    ((pl.col("admin_level") == 0) & pl.col("country_iso3").is_not_null()).fill_null(False),  # a country row
)


def _blank(col: str) -> pl.Expr:
    c = pl.col(col)
    if col in ("round_number", "reporting_date"):
        return c.is_null()
    return c.is_null() | (c.str.strip_chars() == "")


FIELDS: dict[str, tuple[str, pl.Expr]] = {
    "operation": ("operation", _blank("operation")),
    "assessment_type": ("assessment type", _blank("assessment_type")),
    "round_number": ("round number", _blank("round_number")),
    "reporting_date": ("reporting date (missing, or not a date the adapter could read)", _blank("reporting_date")),
    "place": ("place (no p-code, name or site at any admin level)", ~_PLACE_GIVEN),
    "population_group": ("population group", _blank("population_group")),
    "unit": ("unit (individuals or households)", _blank("unit")),
    "role": ("role (total, part or breakdown; set by the adapter)", _blank("role")),
}


@rule
class MissingRequiredField(RowRule):
    slug = "missing-required-field"
    severity = Severity.ERROR
    description = ("A field every observation needs is empty: operation, assessment type, round number, "
                   "reporting date, place, population group, unit or role.")
    message = "{field} is missing"
    fix = ("Fill the field in the source file, or give it on the command line where the import allows "
           "(`--operation`; a mapping file can set constants for a whole file). An unreadable date is "
           "reported here too: write dates as YYYY-MM-DD.")
    example = {"field": "round number"}
    columns = tuple(c for c in ["operation", "assessment_type", "round_number", "reporting_date",
                                "population_group", "unit", "role", "country_iso3", *RAW_PLACE_COLUMNS])

    def find(self, records: pl.DataFrame, ctx: RuleContext, mask: pl.Series | None = None) -> pl.DataFrame:
        masks = records.select(expr.alias(name) for name, (_, expr) in FIELDS.items())
        hits = masks.select(pl.all().any()).row(0, named=True)
        found = []
        for name, (label, _) in FIELDS.items():
            if hits[name]:
                found.append(records.filter(masks.get_column(name)).select(
                    "source_sheet", "source_row",
                    pl.lit(name).alias("column"), pl.lit(None, pl.String).alias("value"),
                    pl.lit(label).alias("field"),
                ))
        if not found:
            return pl.DataFrame(schema={"source_sheet": pl.String, "source_row": pl.Int64})
        # one issue per missing field, in file order
        return pl.concat(found).sort("source_sheet", "source_row", nulls_last=True, maintain_order=True)
