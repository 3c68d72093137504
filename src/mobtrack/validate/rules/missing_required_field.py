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


def _blank_values(records: pl.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """The distinct whitespace-only texts of each text column. A blank text is empty or starts with
    a whitespace character: ASCII ones sort before "!" and the others start with a byte >= 0x80. So a
    column whose smallest text starts at or after "!" and whose largest starts below 0x80 has none;
    one min/max pass over all columns settles most of them without hashing every row. The others
    hold a handful of distinct values: those are looked at rather than every row."""
    texts = [c for c in columns if records.schema[c] == pl.String]
    if not texts:
        return {}
    bounds = records.select(*[pl.col(c).min().alias(f"min{i}") for i, c in enumerate(texts)],
                            *[pl.col(c).max().alias(f"max{i}") for i, c in enumerate(texts)]).row(0)
    out = {}
    for i, c in enumerate(texts):
        low, high = bounds[i], bounds[len(texts) + i]
        if low is None or (low and ord(low[0]) > 0x20 and ord(high[0]) < 0x80):
            out[c] = []  # all null, or no text that can be blank
            continue
        uniques = records[c].drop_nulls().unique()
        out[c] = uniques.filter(uniques.str.strip_chars() == "").to_list()
    return out


def _missing(records: pl.DataFrame, field: str, blanks: dict[str, list[str]]) -> pl.Expr:
    if field == "place":
        given = [pl.col(c).is_not_null() & ~pl.col(c).is_in(blanks.get(c, [])) for c in _PLACE_TEXT]
        return ~pl.any_horizontal(*given, _COUNTRY_ROW)
    c = pl.col(field)
    if records.schema[field] != pl.String:
        return c.is_null()
    return c.is_null() | c.is_in(blanks[field]) if blanks[field] else c.is_null()


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
        blanks = _blank_values(records, [f for f in FIELDS if f != "place"] + _PLACE_TEXT)
        masks = records.select(_missing(records, name, blanks).alias(name) for name in FIELDS)
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
