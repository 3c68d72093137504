"""The gazetteer could not put a row's place on any p-code."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RowRule, RuleContext, rule
from mobtrack.validate.rules._common import RAW_PLACE_COLUMNS, place_label


def _describe() -> pl.Expr:
    """"name Foo, code XX12" from the place columns filled at the row's own level."""
    lvl = pl.col("admin_level")
    expr = pl.lit(None, pl.String)
    for level, (code, name) in {1: ("adm1_pcode", "adm1_name"), 2: ("adm2_pcode", "adm2_name"),
                                3: ("adm3_pcode", "adm3_name"), 4: ("adm4_pcode", "adm4_name"),
                                5: ("site_code", "site_name")}.items():
        both = pl.lit("name ") + pl.col(name) + pl.lit(", code ") + pl.col(code)
        text = pl.coalesce(both, pl.lit("name ") + pl.col(name), pl.lit("code ") + pl.col(code))
        expr = pl.when(lvl == level).then(text).otherwise(expr)
    return expr


@rule
class UnknownPlace(RowRule):
    slug = "unknown-place"
    severity = Severity.ERROR
    description = ("The gazetteer found no p-code for the row's place (match_status 'unmatched'); the row "
                   "is kept but counts in no figure. Reported once per distinct place, at its first row.")
    message = "place {place} (admin level {admin_level}; {given}) is not in the gazetteer; {rows:,} rows use it"
    fix = ("Check the spelling and the p-code against the country's COD list (`mobtrack match` shows "
           "candidates), load the boundary version the file uses (`mobtrack gazetteer load`), or record the "
           "decision in the review list so later imports reuse it.")
    example = {"place": "Kabol", "admin_level": 1, "given": "name Kabol, code AF0101", "rows": 14}
    columns = ("match_status", *RAW_PLACE_COLUMNS)
    column = "place"

    def when(self, ctx: RuleContext) -> pl.Expr:
        return pl.col("match_status") == "unmatched"

    def find(self, records: pl.DataFrame, ctx: RuleContext, mask: pl.Series | None = None) -> pl.DataFrame:
        unmatched = records.filter(pl.col("match_status") == "unmatched")
        if unmatched.height == 0:
            return pl.DataFrame(schema={"source_sheet": pl.String, "source_row": pl.Int64})
        keys = ["country_iso3", *RAW_PLACE_COLUMNS]
        per_place = unmatched.group_by(keys, maintain_order=True).agg(
            pl.col("source_sheet").first(), pl.col("source_row").first(), pl.len().alias("rows"),
        ).with_columns(place_label().alias("place"), _describe().fill_null("no code or name").alias("given"))
        # a place seen in an earlier batch of the same file is not reported again
        seen: set = ctx.state.setdefault(self.slug, set())
        fresh = [k not in seen for k in per_place.select(keys).iter_rows()]
        seen.update(per_place.select(keys).iter_rows())
        return per_place.filter(pl.Series(fresh, dtype=pl.Boolean)).select(
            "source_sheet", "source_row", pl.lit("place").alias("column"),
            pl.col("place").alias("value"), "place", "admin_level", "given", "rows")
