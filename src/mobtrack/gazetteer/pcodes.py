"""P-code normalisation, decided by the gazetteer rather than by a fixed rule.

Sources write p-codes with the ISO2 prefix where the COD uses ISO3 (`TD07` for `TCD07`), the
other way round (`CAF62` for `CF62`), or with segments padded differently (`NG01` for `NG001`).
No single rewrite is right for every country, so we generate every plausible reading of the
code -- each country prefix the country is known by, and every way of cutting its digits into
one segment per admin level, compared by numeric value -- and accept a rewrite only when
exactly one of those readings is a p-code of the gazetteer at that level.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

_CODE = re.compile(r"^([A-Z]*)(.*)$")


def clean_code(code: str | None) -> str | None:
    """Trim and upper-case; p-codes never contain spaces, but spreadsheets add them."""
    if code is None:
        return None
    text = re.sub(r"\s+", "", str(code)).upper()
    return text or None


@lru_cache(maxsize=512)
def country_prefixes(iso3: str) -> frozenset[str]:
    """The letter prefixes a country's p-codes may carry: its ISO3 and ISO2 codes."""
    import pycountry

    prefixes = {iso3.upper()}
    country = pycountry.countries.get(alpha_3=iso3.upper())
    if country is not None:
        prefixes.add(country.alpha_2)
    return frozenset(prefixes)


def split_code(code: str) -> tuple[str, str]:
    match = _CODE.match(code)
    assert match is not None  # the pattern matches any string
    return match.group(1), match.group(2)


def _cuts(digits: str, parts: int):
    """Every way to cut a digit string into `parts` non-empty segments, as numbers."""
    if parts <= 0 or len(digits) < parts:
        return
    for points in combinations(range(1, len(digits)), parts - 1):
        bounds = (0, *points, len(digits))
        yield tuple(int(digits[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))


@dataclass
class CodeRewrite:
    pcode: str | None  # the one gazetteer code the input stands for, or None
    candidates: tuple[str, ...]  # every gazetteer code that fits (more than one: ambiguous)


class CodeIndex:
    """Known p-codes of one country at one admin level, with their numeric segment readings."""

    def __init__(self, iso3: str, level: int, codes: list[str], parents: dict[str, str | None]):
        """`codes` are the p-codes of the level; `parents` maps p-codes of every level to their parent."""
        self.level = level
        self._parents = parents
        self.codes = set(codes)
        self.prefixes = set(country_prefixes(iso3))
        self._by_reading: dict[tuple[int, ...], set[str]] = defaultdict(set)
        for code in codes:
            prefix, _ = split_code(code)
            self.prefixes.add(prefix)
            reading = self._reading(code, prefix)
            if reading is not None:
                self._by_reading[reading].add(code)

    def _reading(self, code: str, prefix: str) -> tuple[int, ...] | None:
        """Segment values of a gazetteer code, read off the chain of its parents' codes."""
        segments: list[str] = []
        current, current_parent = code, self._parents.get(code)
        for _ in range(self.level - 1):
            if not current_parent or not current.startswith(current_parent) or current_parent == current:
                return None
            segments.append(current[len(current_parent):])
            current = current_parent
            current_parent = self._parents.get(current_parent)
        segments.append(current[len(prefix):])
        if not all(s.isdigit() for s in segments):
            return None
        return tuple(int(s) for s in reversed(segments))

    def rewrite(self, code: str) -> CodeRewrite:
        prefix, rest = split_code(code)
        if prefix not in self.prefixes or not rest.isdigit():
            return CodeRewrite(None, ())
        found: set[str] = set()
        for reading in _cuts(rest, self.level):
            found |= self._by_reading.get(reading, set())
        if len(found) == 1:
            return CodeRewrite(next(iter(found)), tuple(found))
        return CodeRewrite(None, tuple(sorted(found)))
