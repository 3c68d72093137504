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
from mobtrack.gazetteer.pcodes import clean_code
from mobtrack.model.vocab import Severity
from mobtrack.validate import Issue

_CODE_SHAPE = re.compile(r"^[A-Z]{2,3}[0-9][0-9A-Z_\-]*$")
MAJORITY = 0.5


def _known(level: Level | None, value: str) -> bool:
    code = clean_code(value)
    if code is None:
        return False
    if level is None:
        return bool(_CODE_SHAPE.match(code))
    return code in level.units or level.codes.rewrite(code).pcode is not None


def detect_swaps(places: pl.DataFrame, views: dict[int, Level | None], file_name: str) -> tuple[set[int], list[Issue]]:
    swapped: set[int] = set()
    issues: list[Issue] = []
    for lvl in (1, 2, 3, 4):
        code_col, name_col = f"adm{lvl}_pcode", f"adm{lvl}_name"
        codes = places[code_col].drop_nulls().unique().to_list()
        names = places[name_col].drop_nulls().unique().to_list()
        if not codes or not names:
            continue
        view = views.get(lvl)
        codes_ok = sum(_known(view, c) for c in codes) / len(codes)
        names_as_codes = sum(_known(view, n) for n in names) / len(names)
        if names_as_codes > MAJORITY and codes_ok < MAJORITY and names_as_codes > codes_ok:
            swapped.add(lvl)
            issues.append(Issue(
                Severity.WARNING, "swapped-name-code",
                f"admin{lvl} code and name columns are swapped ({names_as_codes:.0%} of names are p-codes, "
                f"{codes_ok:.0%} of codes are); read them the other way round",
                file_name, None, None, f"{code_col}/{name_col}", ", ".join(map(str, names[:3]))))
    return swapped, issues
