"""The round being imported is already stored under another assessment type, with identical totals."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RoundRule, RuleContext, rule
from mobtrack.validate.rules._common import ROUND_KEY, headline_figures

_EMPTY = {"source_sheet": pl.String, "source_row": pl.Int64}


def round_totals(records: pl.DataFrame, ctx: RuleContext | None = None) -> pl.DataFrame:
    """Headline totals of one round per (population_group, unit): the sum, over the deepest admin
    level present for that group and unit, of each place's figure (total, else sum of parts).
    Summing one level only is what makes admin1 and admin2 rows of one file not count twice;
    places the gazetteer did not accept are left out, as they are from stored figures.

    The store should build `RuleContext.stored_round_totals` with this same function (it accepts
    stored observation blocks too), so that both sides of the comparison mean the same thing."""
    figures = headline_figures(records, ctx)
    if figures.height and "location_pcode" in figures.columns:
        figures = figures.filter(pl.col("location_pcode").is_not_null())
    if figures.height == 0:
        return pl.DataFrame(schema={"population_group": pl.String, "unit": pl.String, "value": pl.Int64})
    deepest = pl.col("admin_level") == pl.col("admin_level").max().over("population_group", "unit")
    return (figures.filter(deepest).group_by("population_group", "unit")
            .agg(pl.col("figure").sum().alias("value"), pl.col("figure").is_null().any().alias("_gap"))
            .filter(~pl.col("_gap")).drop("_gap"))


@rule
class RoundRepeatedAcrossTypes(RoundRule):
    slug = "round-repeated-across-types"
    severity = Severity.ERROR  # summing both would count every person twice
    description = ("The round being imported has exactly the same headline totals (every population group "
                   "and unit) as a round already stored for the same operation under another assessment "
                   "type: most likely one round published twice under two labels.")
    message = ("round {round_number} ({assessment_type}) has the same totals as stored round {other_round} "
               "({other_type}): {totals}")
    fix = ("Import the round under its right assessment type only (`--assessment-type`), or remove the "
           "wrongly labelled copy. If both are genuinely separate assessments, ignore this after checking.")
    example = {"round_number": 12, "assessment_type": "SA", "other_round": 12, "other_type": "BA",
               "totals": "idps individuals 104,220"}
    columns = (*ROUND_KEY, "population_group", "unit", "role", "value")

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        if ctx.stored_round_totals is None:
            return pl.DataFrame(schema=_EMPTY)
        first = records.row(0, named=True)
        operation, atype, number = first["operation"], first["assessment_type"], first["round_number"]
        stored = ctx.stored_round_totals(operation)
        mine = round_totals(records, ctx)
        if stored is None or stored.height == 0 or mine.height == 0 or not (mine["value"] > 0).any():
            return pl.DataFrame(schema=_EMPTY)
        stored = stored.filter(pl.col("assessment_type") != atype)  # same type: a re-import, not a copy
        mine_set = set(mine.select("population_group", "unit", "value").iter_rows())
        found = []
        for (other_type, other_round), theirs in stored.group_by(["assessment_type", "round_number"],
                                                                 maintain_order=True):
            if set(theirs.select("population_group", "unit", "value").iter_rows()) == mine_set:
                totals = "; ".join(f"{g} {u} {v:,}" for g, u, v in sorted(mine_set))
                found.append({"source_sheet": first["source_sheet"], "source_row": first["source_row"],
                              "column": "assessment_type", "value": atype, "round_number": number,
                              "assessment_type": atype, "other_round": other_round, "other_type": other_type,
                              "totals": totals})
        return pl.DataFrame(found, schema={**_EMPTY, "column": pl.String, "value": pl.String,
                                           "round_number": pl.Int64, "assessment_type": pl.String,
                                           "other_round": pl.Int64, "other_type": pl.String, "totals": pl.String})
