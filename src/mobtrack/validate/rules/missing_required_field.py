"""A field every observation needs is empty: operation, assessment type, round, date, place, group, unit, role."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, round_id, rule
from mobtrack.validate.rules._common import RAW_PLACE_COLUMNS

_PLACE_TEXT = [c for c in RAW_PLACE_COLUMNS if c != "admin_level"]
_COUNTRY_ROW = ((pl.col("admin_level") == 0) & pl.col("country_iso3").is_not_null()).fill_null(False)

# field -> label for messages; "place" is any code or name at any level (or a country-level row)
FIELDS: dict[str, str] = {
    "operation": "operation",
    "assessment_type": "assessment type",
    "round_number": "round number",
    "reporting_date": "reporting date (missing, or not a date the adapter could read)",
    "place": "place (no p-code, name or site at any admin level)",
    "population_group": "population group",
    "unit": "unit (individuals or households)",
    "role": "role (total, part or breakdown; set by the adapter)",
}


def _blank_values(column: pl.Series) -> list[str]:
    """The distinct whitespace-only texts of a column. These columns hold a handful of distinct
    values, so looking at those first spares a string operation on every row."""
    uniques = column.drop_nulls().unique()
    return uniques.filter(uniques.str.strip_chars() == "").to_list()


def _missing(records: pl.DataFrame, field: str) -> pl.Expr:
    if field == "place":
        given = [pl.col(c).is_not_null() & ~pl.col(c).is_in(_blank_values(records[c])) for c in _PLACE_TEXT]
        return ~pl.any_horizontal(*given, _COUNTRY_ROW)
    c = pl.col(field)
    if records.schema[field] != pl.String:
        return c.is_null()
    blanks = _blank_values(records[field])
    return c.is_null() | c.is_in(blanks) if blanks else c.is_null()


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
        masks = records.select(_missing(records, name).alias(name) for name in FIELDS)
        hits = masks.select(pl.all().any()).row(0, named=True)
        found = []
        for name, label in FIELDS.items():
            if hits[name]:
                found.append(records.filter(masks.get_column(name)).select(
                    "source_sheet", "source_row",
                    pl.lit(name).alias("column"), pl.lit(None, pl.String).alias("value"),
                    pl.lit(label).alias("field"), *round_id(records),
                ))
        if not found:
            return pl.DataFrame(schema={"source_sheet": pl.String, "source_row": pl.Int64})
        # one issue per missing field, in file order
        return pl.concat(found).sort("source_sheet", "source_row", nulls_last=True, maintain_order=True)
