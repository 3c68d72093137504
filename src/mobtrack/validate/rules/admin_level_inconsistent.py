"""The admin level of a row does not fit the place columns it fills."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, rule

_LEVEL_COLUMNS = {lvl: (f"adm{lvl}_pcode", f"adm{lvl}_name") for lvl in range(1, 5)} | {5: ("site_code", "site_name")}


def _given(level: int) -> pl.Expr:
    code, name = _LEVEL_COLUMNS[level]
    return pl.col(code).is_not_null() | pl.col(name).is_not_null()


def _deepest_given() -> pl.Expr:
    """Deepest level (1-5) with a code or name, 0 when none."""
    expr = pl.lit(0, pl.Int8)
    for lvl in range(1, 6):
        expr = pl.when(_given(lvl)).then(pl.lit(lvl, pl.Int8)).otherwise(expr)
    return expr


def _level_given(lvl: pl.Expr) -> pl.Expr:
    expr = pl.lit(False)
    for level in range(1, 6):
        expr = pl.when(lvl == level).then(_given(level)).otherwise(expr)
    return expr


@rule
class AdminLevelInconsistent(RowRule):
    slug = "admin-level-inconsistent"
    severity = Severity.ERROR
    description = ("The row's admin level does not fit its place columns: no code or name at that level, "
                   "columns filled below it, a level outside 0-5, or no level at all.")
    message = "admin level {admin_level}: {problem}"
    fix = ("Check the level the adapter or mapping assigns to this sheet or column, and that a row "
           "describes one place: a row for an admin1 unit must not carry admin2 columns.")
    example = {"admin_level": 1, "problem": "adm2 or site columns are filled (deepest: level 2)"}
    columns = ("admin_level",) + tuple(c for cs in _LEVEL_COLUMNS.values() for c in cs)
    column = "admin_level"
    value = "admin_level"

    def when(self, ctx: RuleContext) -> pl.Expr:
        lvl, deepest = pl.col("admin_level"), _deepest_given()
        no_level = lvl.is_null() & (deepest > 0)
        out_of_range = (lvl < 0) | (lvl > 5)
        not_at_level = lvl.is_between(1, 5) & ~_level_given(lvl)
        deeper = lvl.is_between(0, 4) & (deepest > lvl)
        return no_level | out_of_range | not_at_level | deeper

    def extra(self, ctx: RuleContext) -> list[pl.Expr]:
        lvl, deepest = pl.col("admin_level"), _deepest_given()
        deepest_name = pl.when(deepest == 5).then(pl.lit("site")).otherwise(pl.lit("adm") + deepest.cast(pl.String))
        problem = (
            pl.when(lvl.is_null()).then(pl.lit("no admin level given, though place columns are filled (deepest: ")
                                        + deepest_name + pl.lit(")"))
            .when((lvl < 0) | (lvl > 5)).then(pl.lit("not a level (0-4 admin units, 5 sites)"))
            .when(lvl.is_between(1, 5) & ~_level_given(lvl)).then(
                pl.lit("no code or name is given at that level"))
            .otherwise(pl.lit("place columns below that level are filled (deepest: ") + deepest_name + pl.lit(")"))
        )
        return [problem.alias("problem")]
