"""One category written several ways in a file: "Conflict" and "conflict", "Site" and "Sité"."""

from __future__ import annotations

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate import RoundRule, RuleContext, Setting, rule

DEFAULT_COLUMNS = ["reason", "shelter_type", "site_type", "sex", "age_band", "displacement_period", "nationality",
                   "transport", "direction"]


def spelling_key(col: str) -> pl.Expr:
    """Case, accents and spacing folded away: what two spellings of one category share."""
    return (pl.col(col).str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")
            .str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars())


@rule
class CategorySpellingVariants(RoundRule):
    slug = "category-spelling-variants"
    severity = Severity.WARNING  # each variant becomes its own category in every breakdown and chart
    description = ("A category column (reason, shelter/site type, sex, age band, displacement period, and for "
                   "flows nationality, transport, direction) spells "
                   "one value in several ways that differ only in case, accents or spacing, within one file. "
                   "Reported once per variant, at its first row, naming the other variants.")
    message = "{column} {value!r} ({count:,} rows) is also written {others} in this file"
    fix = ("Choose one spelling and use it throughout the file (the variants split one category into "
           "several in every table and chart).")
    example = {"column": "reason", "value": "conflict", "count": 120, "others": "'Conflict' (2,304 rows)"}
    settings = (Setting("spelling_columns", DEFAULT_COLUMNS, "Category columns compared for spelling variants."),)

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        # File-wide: counts and first rows accumulate in the context across the file's rounds, so a
        # variant that appears only in a later round is still compared with the earlier spellings.
        seen: dict = ctx.state.setdefault(self.slug, {"variants": {}, "reported": set()})
        found = []
        schema = records.schema  # built anew at each access: once, not once per column
        for col in self.setting(ctx, "spelling_columns"):
            if schema.get(col) != pl.String:
                continue
            if records[col].null_count() == records.height:  # cheap: most columns are empty in most rounds
                continue
            stats = (
                records.lazy().filter(pl.col(col).is_not_null()).with_row_index("_order")
                .group_by(col).agg(pl.len().alias("count"), pl.col("source_sheet").sort_by("_order").first(),
                                   pl.col("source_row").sort_by("_order").first(), pl.col("_order").min())
                .with_columns(spelling_key(col).alias("_key")).sort("_order")
                .collect(engine="in-memory")  # the streaming default costs more on small frames
            )
            # only keys spelled more than one way (here or before) need Python-side bookkeeping
            variants = seen["variants"].setdefault(col, {})
            for value, count, sheet, row, _, key in stats.iter_rows():
                known = variants.setdefault(key, {})
                if value in known:
                    known[value][0] += count
                else:
                    known[value] = [count, sheet, row]
            for key in stats["_key"].unique().to_list():
                spellings = variants[key]
                if len(spellings) < 2:
                    continue
                for value, (count, sheet, row) in spellings.items():
                    if (col, value) in seen["reported"]:
                        continue
                    seen["reported"].add((col, value))
                    others = ", ".join(f"{v!r} ({c:,} rows)" for v, (c, _, _) in spellings.items() if v != value)
                    found.append({"source_sheet": sheet, "source_row": row, "column": col, "value": value,
                                  "count": count, "others": others})
        schema = {"source_sheet": pl.String, "source_row": pl.Int64, "column": pl.String, "value": pl.String,
                  "count": pl.Int64, "others": pl.String}
        return pl.DataFrame(found, schema=schema)
