"""Detecting code and name columns that were swapped (Nigeria's admin2 tags, for one).

Per admin level, over the distinct values of a batch: if the name column holds known p-codes
and the code column does not, the columns are swapped. Where no gazetteer exists for the level,
the test is the shape of the values: codes look like a country prefix followed by digits,
names do not.
"""

from __future__ import annotations

import re

import polars as pl

from mobtrack.gazetteer.catalogue import Level
from mobtrack.model.vocab import Severity
from mobtrack.validate import Issue

_CODE_SHAPE = re.compile(r"^[A-Z]{2,3}[0-9][0-9A-Z_\-]*$")
MAJORITY = 0.5


SAMPLE = 200  # distinct values per column are enough to tell which way round the columns are


def _share_known(level: Level | None, values: pl.Series) -> float:
    """Share of the values that are p-codes (of the level's gazetteer, or by shape without one)."""
    values = values.drop_nulls().unique().head(SAMPLE)
    if values.is_empty():
        return 0.0
    codes = values.str.replace_all(r"\s+", "").str.to_uppercase()
    if level is None:
        return codes.str.contains(_CODE_SHAPE.pattern).mean() or 0.0
    exact = codes.is_in(list(level.units))
    rewritten = sum(level.codes.rewrite(c).pcode is not None for c in codes.filter(~exact).head(50).to_list())
    checked = int(exact.sum()) + min(int((~exact).sum()), 50)
    return (int(exact.sum()) + rewritten) / checked


def detect_swaps(places: pl.DataFrame, views: dict[int, Level | None], file_name: str) -> tuple[set[int], list[Issue]]:
    swapped: set[int] = set()
    issues: list[Issue] = []
    for lvl in (1, 2, 3, 4):
        code_col, name_col = f"adm{lvl}_pcode", f"adm{lvl}_name"
        if places[code_col].null_count() == places.height or places[name_col].null_count() == places.height:
            continue
        view = views.get(lvl)
        codes_ok = _share_known(view, places[code_col])
        names_as_codes = _share_known(view, places[name_col])
        if names_as_codes > MAJORITY and codes_ok < MAJORITY:
            swapped.add(lvl)
            sample = ", ".join(places[name_col].drop_nulls().unique().sort().head(3).to_list())
            issues.append(Issue(
                Severity.WARNING, "swapped-name-code",
                f"admin{lvl} code and name columns are swapped ({names_as_codes:.0%} of names are p-codes, "
                f"{codes_ok:.0%} of codes are); read them the other way round",
                file_name, None, None, f"{code_col}/{name_col}", sample))
    return swapped, issues
