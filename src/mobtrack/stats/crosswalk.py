"""One explicit country crosswalk: ISO3, M49, UNHCR codes and common names -> one mobtrack code.

The mobtrack code is ISO 3166-1 alpha-3 where one exists; the few entities without one (Kosovo, Abyei,
Channel Islands, "stateless", "unknown origin") get the code their sources already use, with a `kind`
saying what they are and a `note` saying why. The table lives in `mobtrack/data/countries.csv`
(rebuilt by `python -m mobtrack.stats.build_crosswalk`), so every mapping is data a reviewer can read.

Names are matched exactly after normalisation (case, accents, punctuation, "St." and a trailing
", The"); never fuzzily, because fuzzy matching confuses Niger and Nigeria. When nothing matches, the
closest names are offered as suggestions in the report, and the row is rejected, not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import StringIO

import polars as pl
from unidecode import unidecode

SYSTEMS = ("iso3", "m49", "unhcr", "name")


@dataclass(frozen=True)
class Resolution:
    """The answer for one code or name as a source wrote it."""

    system: str
    value: str
    code: str | None  # mobtrack code, None when unmapped
    kind: str | None = None  # country | territory | special | historical
    reason: str | None = None  # why it is unmapped, or the note of a non-country entry
    suggestions: tuple[str, ...] = ()


def normalise_name(name: str) -> str:
    """The key names are compared on: 'Côte d'Ivoire' and 'Cote d'Ivoire' and 'COTE D IVOIRE' agree."""
    s = unidecode(name).lower().strip()
    s = re.sub(r",\s*the$", "", s)  # "Bahamas, The"
    s = re.sub(r"^the\s+", "", s)
    s = re.sub(r"\bst\.?\s", "saint ", s)
    s = s.replace("&", " and ")
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return " ".join(s.split())


def _m49_key(value: str) -> str:
    """M49 codes are written 4, '004', '4.0' depending on the tool that exported them."""
    text = value.strip()
    if re.fullmatch(r"\d+(\.0+)?", text):
        return str(int(float(text)))
    return text


class Crosswalk:
    def __init__(self, table: pl.DataFrame):
        self.table = table
        self.by_code = {r["code"]: r for r in table.iter_rows(named=True)}
        self._index: dict[str, dict[str, str]] = {s: {} for s in SYSTEMS}
        self._conflicts: dict[str, set[str]] = {}
        for r in table.iter_rows(named=True):
            code = r["code"]
            self._add("iso3", code, code)
            for other in filter(None, (r["other_codes"] or "").split("|")):
                self._add("iso3", other, code)
            if r["m49"]:
                self._add("m49", _m49_key(r["m49"]), code)
            if r["unhcr_code"]:
                self._add("unhcr", r["unhcr_code"], code)
            for name in [r["name"], *filter(None, (r["aliases"] or "").split("|"))]:
                self._add("name", normalise_name(name), code)

    def _add(self, system: str, key: str, code: str) -> None:
        index = self._index[system]
        if key in index and index[key] != code:
            # A name two entries claim is ambiguous: it must not resolve to either silently.
            self._conflicts.setdefault(f"{system}:{key}", {index[key]}).add(code)
        index.setdefault(key, code)

    @classmethod
    def default(cls) -> Crosswalk:
        return _default()

    def key(self, system: str, value: str) -> str:
        if system == "name":
            return normalise_name(value)
        if system == "m49":
            return _m49_key(value)
        return value.strip().upper()

    def resolve(self, value: str | None, system: str = "iso3") -> Resolution:
        if system not in SYSTEMS:
            raise ValueError(f"unknown code system {system!r}; use one of {', '.join(SYSTEMS)}")
        if value is None or not str(value).strip():
            return Resolution(system, value or "", None, reason="empty")
        key = self.key(system, str(value))
        conflict = self._conflicts.get(f"{system}:{key}")
        if conflict:
            return Resolution(system, value, None, reason=f"ambiguous: could be {', '.join(sorted(conflict))}")
        code = self._index[system].get(key)
        if code is None:
            return Resolution(system, value, None, reason=f"no {system} entry in the crosswalk",
                              suggestions=self.suggest(value) if system == "name" else ())
        entry = self.by_code[code]
        return Resolution(system, value, code, entry["kind"], entry["note"] or None)

    def suggest(self, name: str, limit: int = 3) -> tuple[str, ...]:
        from rapidfuzz import fuzz, process

        choices = {k: v for k, v in self._index["name"].items()}
        found = process.extract(normalise_name(name), list(choices), scorer=fuzz.WRatio, limit=limit, score_cutoff=80)
        return tuple(dict.fromkeys(f"{choices[k]} ({k})" for k, _score, _i in found))

    def mapping(self, values: pl.Series, system: str) -> pl.DataFrame:
        """Resolve the distinct values of a column at once: {value, code, reason}. Loaders join on this,
        so a million rows cost one lookup per distinct code, not per row."""
        distinct = values.drop_nulls().unique().to_list()
        resolved = [self.resolve(v, system) for v in distinct]
        return pl.DataFrame(
            {"value": distinct, "code": [r.code for r in resolved], "reason": [r.reason for r in resolved]},
            schema={"value": values.dtype, "code": pl.String, "reason": pl.String},
        )

    def name(self, code: str) -> str:
        entry = self.by_code.get(code)
        return entry["name"] if entry else code

    def describe(self, code: str) -> dict:
        entry = self.by_code.get(code)
        if entry is None:
            return {"code": code, "name": code}
        out = {k: entry[k] or None for k in ("code", "name", "kind", "iso2", "m49", "unhcr_code", "note")}
        out["lat"], out["lon"] = self.point(code)
        return out

    def point(self, code: str) -> tuple[float | None, float | None]:
        """Where to anchor a flow-map arc (Natural Earth centroid); None for non-places and small islands."""
        entry = self.by_code.get(code)
        if entry is None or not entry.get("lat"):
            return None, None
        return float(entry["lat"]), float(entry["lon"])

    def places(self) -> pl.DataFrame:
        """code, name, lat, lon for every entry: joined onto OD frames for maps."""
        return self.table.select(
            "code", "name",
            pl.col("lat").replace("", None).cast(pl.Float64), pl.col("lon").replace("", None).cast(pl.Float64))


def read_table(text: str) -> pl.DataFrame:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return pl.read_csv(StringIO(body), infer_schema_length=0).fill_null("")


@cache
def _default() -> Crosswalk:
    text = resources.files("mobtrack").joinpath("data/countries.csv").read_text(encoding="utf-8")
    return Crosswalk(read_table(text))
