"""Name sets for the matching acceptance test and benchmark, built from ../shared/data.

Each item is a place name as a real source writes it, the name of its parent unit (for admin2),
and the p-code the source gives, which is hidden from the matcher and used as the truth:
- `api-v3`: DTM API v3 JSON, admin1 and admin2 names of AFG, HTI, TCD;
- `api-v2`: the legacy v2 API JSON of the same countries (with AFG admin2);
- `global-csv`: HDX's CSV of the same API (HXL row 2);
- `workbooks`: the DTM country workbooks (HXL hashtags #adm1+name/#adm1+code...; Nigeria's swapped
  admin2 tags are read the right way round);
- `boundaries-en`: English names of the COD-AB boundary files (SOM 2017 and 2023, SSD, SDN, HTI, NGA);
- `boundaries-variants`: French, Creole and Arabic names of the HTI and SDN boundaries, spelled
  the ways field files spell them (no accents, hyphens as spaces, upper case; Arabic without the
  article or with hamza and taa marbuta folded). The variants are generated from the real names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from unidecode import unidecode

_CODE_SHAPE = re.compile(r"^[A-Z]{2,3}[0-9]+$")


@dataclass(frozen=True)
class Item:
    source: str
    country: str
    level: int
    name: str
    parent: str | None
    truth: str  # the source's p-code (before normalisation to the gazetteer)


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if not text or text.lower() in ("not available", "n/a", "na", "-") else text


def api_v3(data: Path) -> Iterator[Item]:
    for path in sorted((data / "dtm" / "api").glob("displacement-admin[12]-admin0pcode-*.json")):
        level = int(path.name.split("-")[1][-1])
        for r in json.loads(path.read_text())["result"]:
            name, code = _clean(r.get(f"admin{level}Name")), _clean(r.get(f"admin{level}Pcode"))
            if name and code:
                yield Item("api-v3", r["admin0Pcode"], level, name, _clean(r.get("admin1Name")) if level == 2 else None,
                           code)


def api_v2(data: Path) -> Iterator[Item]:
    """The legacy v2 API: the same fields, and AFG admin2 too."""
    for path in sorted((data / "dtm" / "api" / "v2").glob("idpadmin[12]data-*.json")):
        level = int(path.name[len("idpadmin")])
        for r in json.loads(path.read_text())["result"]:
            name, code = _clean(r.get(f"admin{level}Name")), _clean(r.get(f"admin{level}Pcode"))
            if name and code:
                yield Item("api-v2", r["admin0Pcode"], level, name, _clean(r.get("admin1Name")) if level == 2 else None,
                           code)


def global_csv(data: Path) -> Iterator[Item]:
    frame = pl.read_csv(data / "dtm" / "api" / "global-iom-dtm-from-api-admin-0-to-2.csv", infer_schema=False,
                        skip_rows_after_header=1)
    for r in frame.iter_rows(named=True):
        for level in (1, 2):
            name, code = _clean(r[f"admin{level}Name"]), _clean(r[f"admin{level}Pcode"])
            if name and code:
                yield Item("global-csv", r["admin0Pcode"], level, name, _clean(r["admin1Name"]) if level == 2 else None,
                           code)


def workbooks(data: Path) -> Iterator[Item]:
    for path in sorted((data / "dtm" / "country-files").glob("*.xlsx")):
        sheets = pl.read_excel(path, sheet_id=0, has_header=False, infer_schema_length=0, raise_if_empty=False)
        for frame in sheets.values():
            if frame.height < 3:
                continue
            tags = frame.row(1)
            col = {}
            for i, tag in enumerate(tags):
                t = re.sub(r"\s+", "", str(tag or "")).lower()
                if "+origin" in t or "+i_" in t:
                    continue
                for key in ("#adm1+name", "#adm1+code", "#adm2+name", "#adm2+code", "#country+code"):
                    if t == key:
                        col.setdefault(key, i)
            if "#adm1+name" in col and "#adm1+code" in col:
                yield from _workbook_items(frame.slice(2).rows(), col)


def _workbook_items(body: list[tuple], col: dict) -> Iterator[Item]:
    def value(row, key):
        return _clean(row[col[key]]) if key in col and col[key] < len(row) else None

    swapped = {}
    for level in (1, 2):
        names = [value(r, f"#adm{level}+name") for r in body[:200]]
        swapped[level] = sum(bool(n and _CODE_SHAPE.match(n)) for n in names) > len(names) / 2
    for r in body:
        country = value(r, "#country+code")
        if not country:
            continue
        for level in (1, 2):
            name, code = value(r, f"#adm{level}+name"), value(r, f"#adm{level}+code")
            if swapped[level]:
                name, code = code, name
            parent = value(r, "#adm1+code" if swapped[1] else "#adm1+name") if level == 2 else None
            if name and code and _CODE_SHAPE.match(code.upper()):
                yield Item("workbooks", country.upper()[:3], level, name, parent, code)


BOUNDARIES = {
    "SOM": ["Som_Admbnda_Adm1_UNDP_2017.geojson", "Som_Admbnda_Adm2_UNDP_2017.geojson",
            "som_admbnda_adm1_ocha_20230308.geojson", "som_admbnda_adm2_ocha_20230308.geojson"],
    "SSD": ["ssd_admbnda_adm1_imwg_nbs_20210924.geojson", "ssd_admbnda_adm2_imwg_nbs_20180817.geojson"],
    "SDN": ["sdn_admbnda_adm1_cbs_nic_ssa_20200831.geojson", "sdn_admbnda_adm2_cbs_nic_ssa_20200831.geojson"],
    "HTI": ["hti_admbnda_adm1_cnigs_20181129.geojson", "hti_admbnda_adm2_cnigs_20181129.geojson"],
    "NGA": ["nga_admbnda_adm1_wca_ocha_derived.geojson"],
}
# The current edition of each country, loaded as the "COD" gazetteer next to the bundled list.
CURRENT_COD = {"SOM": BOUNDARIES["SOM"][2:], "SSD": BOUNDARIES["SSD"], "SDN": BOUNDARIES["SDN"],
               "HTI": BOUNDARIES["HTI"], "NGA": BOUNDARIES["NGA"]}


def boundary_paths(data: Path, files: dict[str, list[str]]) -> list[Path]:
    return [data / "geo" / "boundaries" / iso3 / f for iso3, fs in files.items() for f in fs]


def _features(data: Path) -> Iterator[tuple[str, str, dict]]:
    for iso3, files in BOUNDARIES.items():
        for f in files:
            for feature in json.loads((data / "geo" / "boundaries" / iso3 / f).read_text())["features"]:
                yield iso3, f, feature["properties"]


def _attr(props: dict, level: int, kind: str) -> str | None:
    """ADM2_EN / admin2Name / ADM2_PCODE / admin2Pcod, whichever the edition uses."""
    names = {"en": (f"ADM{level}_EN", f"admin{level}Name"), "code": (f"ADM{level}_PCODE", f"admin{level}Pcod"),
             "fr": (f"ADM{level}_FR",), "ht": (f"ADM{level}_HT",), "ar": (f"ADM{level}_AR",)}[kind]
    return next((_clean(props[k]) for k in names if _clean(props.get(k))), None)


def boundaries_en(data: Path) -> Iterator[Item]:
    for iso3, _, props in _features(data):
        for level in (1, 2):
            name, code = _attr(props, level, "en"), _attr(props, level, "code")
            if name and code:
                yield Item("boundaries-en", iso3, level, name, _attr(props, 1, "en") if level == 2 else None, code)


def _latin_variants(name: str) -> set[str]:
    plain = unidecode(name)
    return {name, plain, plain.upper(), plain.replace("-", " "), name.replace("-", " ").replace("'", " ")}


_AR_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})


def _arabic_variants(name: str) -> set[str]:
    no_article = re.sub(r"(^|\s)ال", r"\1", name)
    return {name, name.translate(_AR_FOLD), no_article, no_article.translate(_AR_FOLD)}


def boundaries_variants(data: Path) -> Iterator[Item]:
    features = [(iso3, props) for iso3, _, props in _features(data) if iso3 in ("HTI", "SDN")]
    # every spelling of every unit, so that a variant that is exactly another unit's name (an
    # Arabic name without its article can be) is not used: it would be a wrong label, not a test
    owners: dict[tuple, set] = {}
    for iso3, props in features:
        for level in (1, 2):
            for lang in ("en", "fr", "ht", "ar"):
                name = _attr(props, level, lang)
                if name:
                    owners.setdefault((iso3, level, name), set()).add(_attr(props, level, "code"))
    for iso3, props in features:
        for level in (1, 2):
            code = _attr(props, level, "code")
            for lang in ("fr", "ht", "ar"):
                name = _attr(props, level, lang)
                if not (name and code):
                    continue
                parent = _attr(props, 1, lang) if level == 2 else None
                variants = _arabic_variants(name) if lang == "ar" else _latin_variants(name)
                for v in sorted(variants):
                    if owners.get((iso3, level, v), {code}) <= {code}:
                        yield Item("boundaries-variants", iso3, level, v, parent, code)


SOURCES = {"api-v3": api_v3, "api-v2": api_v2, "global-csv": global_csv, "workbooks": workbooks, "boundaries-en": boundaries_en,
           "boundaries-variants": boundaries_variants}


def name_sets(data: Path, sources: list[str] | None = None) -> list[Item]:
    """Distinct items of the chosen sources (a name repeated in every round counts once)."""
    items: dict[Item, None] = {}
    for key in sources or list(SOURCES):
        for item in SOURCES[key](data):
            items.setdefault(item, None)
    return list(items)
