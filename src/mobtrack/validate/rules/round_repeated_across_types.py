"""The round being imported is already stored under another assessment type, with identical totals."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import ROUND_ID, RoundRule, RuleContext, rounds_in, rule
from mobtrack.validate.rules._common import ROUND_KEY, headline_figures

_EMPTY = {"source_sheet": pl.String, "source_row": pl.Int64}


def round_totals(records: pl.DataFrame, ctx: RuleContext | None = None, by_round: bool = False) -> pl.DataFrame:
    """Headline totals per population_group and unit (and per round, with the ROUND_ID columns, when
    `by_round`: `records` may then hold several rounds): the sum, over the deepest admin level present for that group and unit, of each place's figure (total,
    else sum of parts). Summing one level only is what makes admin1 and admin2 rows of one file not
    count twice; places the gazetteer did not accept are left out, as they are from stored figures.

    The store should build `RuleContext.stored_round_totals` with this same function (it accepts
    stored observation blocks too), so that both sides of the comparison mean the same thing."""
    by = [c for c in ROUND_ID if c in records.columns] if by_round else []
    figures = headline_figures(records, ctx)
    if figures.height and "location_pcode" in figures.columns:
        figures = figures.filter(pl.col("location_pcode").is_not_null())
    if figures.height == 0:
        return pl.DataFrame(schema={**records.select(by).schema, "population_group": pl.String, "unit": pl.String,
                                    "value": pl.Int64})
    # the round of each figure, from the row it comes from (constant round columns are not cell keys)
    if by:
        figures = figures.drop(by, strict=False).with_columns(*records.select(by)[figures["_row"]].get_columns())
    per = [*by, "population_group", "unit"]
    deepest = pl.col("admin_level") == pl.col("admin_level").max().over(per)
    return (figures.filter(deepest).group_by(per, maintain_order=True)
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
        schema = {**_EMPTY, "column": pl.String, "value": pl.String, "round_number": pl.Int64,
                  "assessment_type": pl.String, "other_round": pl.Int64, "other_type": pl.String, "totals": pl.String}
        if ctx.stored_round_totals is None:
            return pl.DataFrame(schema=_EMPTY)
        mine_all = round_totals(records, ctx, by_round=True)
        if mine_all.height == 0:
            return pl.DataFrame(schema=_EMPTY)
        by = [c for c in ROUND_ID if c in records.columns]
        mine_by_round: dict[tuple, set] = {}
        for values in mine_all.select(*by, "population_group", "unit", "value").iter_rows():
            mine_by_round.setdefault(values[:len(by)], set()).add(values[len(by):])
        # what is stored when a round is checked: the stored rounds, then the rounds before it in this
        # call (each replacing a stored round of the same type and number); built up as we go
        stored_now: dict[str, dict] = {}
        batch: dict[int, list] = {}
        if ctx.batch_round_totals is not None:
            for pos, op, t, n, g, u, v in ctx.batch_round_totals.select(
                    "_pos", "operation", "assessment_type", "round_number", "population_group", "unit",
                    "value").iter_rows():
                entries = batch.setdefault(pos, [op, (t, n), set()])
                if v is not None:  # a round without totals: it only replaces the stored ones
                    entries[2].add((g, u, v))
        found = []
        rounds = rounds_in(records, ctx)
        # each round's first row, gathered at once (a flow-monitoring batch has hundreds of rounds)
        firsts = records.select("operation", "assessment_type", "round_number", "source_sheet", "source_row")[
            rounds["_first"]].iter_rows(named=True)
        keys = rounds.select(by).iter_rows() if by else [()] * rounds.height
        for pos, (key, row) in enumerate(zip(keys, firsts, strict=True)):
            mine_set = mine_by_round.get(key)
            if mine_set and any(v > 0 for _, _, v in mine_set):
                operation, atype, number = row["operation"], row["assessment_type"], row["round_number"]
                theirs = self._stored(ctx, stored_now, operation)
                for (other_type, other_round), signature in list(theirs.items()):
                    if other_type != atype and signature == mine_set:  # same type: a re-import, not a copy
                        totals = "; ".join(f"{g} {u} {v:,}" for g, u, v in sorted(mine_set))
                        found.append({"source_sheet": row["source_sheet"], "source_row": row["source_row"],
                                      "column": "assessment_type", "value": atype, "round_number": number,
                                      "assessment_type": atype, "other_round": other_round,
                                      "other_type": other_type, "totals": totals})
            if pos in batch:  # this round is stored before the next one is checked
                op, type_number, signature = batch[pos]
                theirs = self._stored(ctx, stored_now, op)
                theirs.pop(type_number, None)
                theirs[type_number] = signature
        return pl.DataFrame(found, schema=schema)

    @staticmethod
    def _stored(ctx: RuleContext, stored_now: dict, operation: str) -> dict:
        """(assessment type, round) -> set of (group, unit, total) of the operation's stored rounds."""
        if operation not in stored_now:
            stored = ctx.stored_round_totals(operation)
            theirs: dict = {}
            if stored is not None:
                for t, n, g, u, v in stored.select("assessment_type", "round_number", "population_group", "unit",
                                                   "value").iter_rows():
                    theirs.setdefault((t, n), set()).add((g, u, v))
            stored_now[operation] = theirs
        return stored_now[operation]
