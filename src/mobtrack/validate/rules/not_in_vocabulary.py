"""A controlled field (assessment type, population group, unit, role) holds a value outside its vocabulary."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import AssessmentType, PopulationGroup, Role, Severity, Unit
from mobtrack.validate import RowRule, RuleContext, round_id, rule

VOCABULARIES = {
    "assessment_type": [str(v) for v in AssessmentType],
    "population_group": [str(v) for v in PopulationGroup],
    "unit": [str(v) for v in Unit],
    "role": [str(v) for v in Role],
}


@rule
class NotInVocabulary(RowRule):
    slug = "not-in-vocabulary"
    severity = Severity.ERROR
    description = ("An assessment type, population group, unit or role is not one of the canonical "
                   "values (e.g. a group spelling the adapter did not recognise).")
    message = "{column} {value!r} is not one of: {allowed}"
    fix = ("Use a recognised spelling in the source, or map the column explicitly in a mapping file. "
           "New spellings of existing groups belong in mobtrack/model/vocab.py.")
    example = {"column": "population_group", "value": "evacuees",
               "allowed": ", ".join(VOCABULARIES["population_group"])}
    columns = tuple(VOCABULARIES)

    def find(self, records: pl.DataFrame, ctx: RuleContext, mask: pl.Series | None = None) -> pl.DataFrame:
        found = []
        for col, allowed in VOCABULARIES.items():
            # a handful of distinct values: judge those, then fetch rows only when one is wrong
            uniques = records[col].drop_nulls().unique()
            wrong = uniques.filter((uniques.str.strip_chars() != "") & ~uniques.is_in(allowed)).to_list()
            if wrong:
                bad = records.filter(pl.col(col).is_in(wrong))
                found.append(bad.select("source_sheet", "source_row", pl.lit(col).alias("column"),
                                        pl.col(col).alias("value"), pl.lit(", ".join(allowed)).alias("allowed"),
                                        *round_id(bad)))
        if not found:
            return pl.DataFrame(schema={"source_sheet": pl.String, "source_row": pl.Int64})
        return pl.concat(found)
