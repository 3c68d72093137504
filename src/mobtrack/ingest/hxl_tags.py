"""What an HXL hashtag means in the canonical model.

`#affected+idps+ind+f+children` is a count of IDP girls (individuals, female, children);
`#adm2+code` is an admin-2 p-code; `#meta+round` a round number. Tags are parsed with libhxl
after tolerating the variants met in real DTM files: tabs and spaces inside the tag, upper case
(`#adm1+Name`), a missing `#` in a row that is otherwise tagged (`Country+name`), `+idp` vs `+idps`.

A value tag with attributes we do not understand is *not* guessed: it is ignored and reported,
because a wrongly read column is a silently wrong figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mobtrack.ingest.cells import ValueColumn
from mobtrack.model.vocab import PopulationGroup, parse_group, parse_unit

_TAG_LIKE = re.compile(r"^#?[A-Za-z][A-Za-z0-9_]*(\s*\+\s*[A-Za-z][A-Za-z0-9_]*)*$")


def normalise_tag(cell: str | None, *, allow_missing_hash: bool = False) -> str | None:
    """'#adm1 +Name' -> '#adm1+name'; None when the cell is not a hashtag spec."""
    if cell is None:
        return None
    # spaces and tabs around '#' and '+' are tolerated; a space inside a word is a header like "# of IDPs"
    text = re.sub(r"\s*([#+])\s*", r"\1", str(cell).strip()).lower()
    if not text or re.search(r"\s", text):
        return None
    if not text.startswith("#"):
        if not (allow_missing_hash and "+" in text and _TAG_LIKE.match(text)):
            return None
        text = "#" + text
    if not _TAG_LIKE.match(text):
        return None
    import hxl.model  # here, not at the top: libhxl takes ~0.2 s to import, which no other format should pay

    column = hxl.model.Column.parse(text)
    return column.get_display_tag(sort_attributes=False) if column else None


def tag_parts(tag: str) -> tuple[str, list[str]]:
    head, *attributes = tag.lstrip("#").split("+")
    return head, attributes


def is_hxl_row(cells: list[str | None]) -> bool:
    """A row is the hashtag row when at least half of its non-empty cells are hashtags."""
    filled = [c for c in cells if c is not None and str(c).strip()]
    tags = [c for c in filled if normalise_tag(c)]
    return len(tags) >= 2 and len(tags) * 2 >= len(filled)


# --- value columns ----------------------------------------------------------------------------

_SEX = {"f": "female", "female": "female", "women": "female", "woman": "female", "girls": "female",
        "m": "male", "male": "male", "men": "male", "man": "male", "boys": "male"}
_AGE_WORDS = {"children": "children", "child": "children", "minors": "children", "boys": "children",
              "girls": "children", "infants": "infants", "adult": "adult", "adults": "adult",
              "elderly": "elderly", "elders": "elderly", "older": "elderly", "youth": "youth"}
_AGE_RANGE = re.compile(r"^age(\d+)(?:_(\d+)|(plus))$")
_ABROAD = {"abroad", "external", "international", "foreign", "fromabroad"}
_INTERNAL = {"internal", "idp", "idps", "fromidp"}
# Shelter / settlement types seen as attributes of count tags (#affected+idps+ind+camp).
_SHELTER = {"camp": "camp", "camps": "camp", "collective": "collective_centre", "collectivecentre": "collective_centre",
            "collective_centre": "collective_centre", "hostfamily": "host_family", "host_family": "host_family",
            "hostfamilies": "host_family", "informal": "informal_settlement", "informalsettlement": "informal_settlement",
            "informal_settlement": "informal_settlement", "rented": "rented", "rental": "rented",
            "selfsettled": "self_settled", "self_settled": "self_settled", "noshelter": "no_shelter",
            "open_air": "no_shelter", "openair": "no_shelter"}
# Attributes that say nothing about what is counted (source, language, status of the figure).
_NEUTRAL = {"num", "number", "estimated", "est", "present", "current", "total", "all", "reported", "i_en", "i_fr"}


@dataclass(frozen=True)
class ValueTag:
    group: str
    unit: str | None  # None: the tag does not say
    sex: str | None = None
    age_band: str | None = None
    reason: str | None = None
    shelter_type: str | None = None


def value_tag(tag: str) -> ValueTag | str:
    """A ValueTag for a count tag, or a string saying why the tag is not a count we can use."""
    head, attributes = tag_parts(tag)
    if head not in {"affected", "population", "inneed", "targeted", "reached"}:
        return "not a count tag"
    if head != "affected" and not any(parse_group(a) for a in attributes):
        return f"#{head} without a population group"
    group = unit = sex = age = shelter = None
    cause: list[str] = []
    unknown: list[str] = []
    in_cause = False
    for attr in attributes:
        if attr in {"cause", "reason"}:
            in_cause = True
            continue
        if in_cause:
            cause.append(attr)
            continue
        if (g := parse_group(attr)) is not None and group is None:
            group = g
        elif attr in _ABROAD and group in (PopulationGroup.RETURNEES_INTERNAL, None):
            group = PopulationGroup.RETURNEES_ABROAD
        elif attr in _INTERNAL and group == PopulationGroup.RETURNEES_INTERNAL:
            pass
        elif (u := parse_unit(attr)) is not None:
            unit = u.value
        elif attr in _SEX:
            sex = _SEX[attr]
            if attr in {"boys", "girls"}:
                age = "children"
        elif attr in _AGE_WORDS:
            age = _AGE_WORDS[attr]
        elif attr in _SHELTER:
            shelter = _SHELTER[attr]
        elif m := _AGE_RANGE.match(attr):
            age = f"{m.group(1)}+" if m.group(3) else f"{m.group(1)}-{m.group(2)}"
        elif attr in _NEUTRAL or attr.startswith("i_"):
            continue
        else:
            unknown.append(attr)
    if group is None:
        return "no population group among the attributes"
    if unknown:
        return "attributes not understood: " + " ".join("+" + a for a in unknown)
    return ValueTag(group=group.value, unit=unit, sex=sex, age_band=age, reason="_".join(cause) or None,
                    shelter_type=shelter)


def value_column(column: str, label: str, tag: ValueTag, default_unit: str) -> ValueColumn:
    # a reason or shelter split is a partition of the figure; sex and age only break it down
    role = "breakdown" if tag.sex or tag.age_band else ("part" if tag.reason or tag.shelter_type else "total")
    return ValueColumn(column=column, label=label, group=tag.group, unit=tag.unit or default_unit, role=role,
                       sex=tag.sex, age_band=tag.age_band, reason=tag.reason, shelter_type=tag.shelter_type)


# --- context columns --------------------------------------------------------------------------

def context_field(tag: str) -> str | None:
    """The canonical (or helper) field a non-count tag fills, or None."""
    head, attrs = tag_parts(tag)
    a = set(attrs)
    origin = "origin" in a
    lang = any(x.startswith("i_") and x not in {"i_en"} for x in a)
    is_code = bool(a & {"code", "pcode", "id"})
    if m := re.fullmatch(r"adm([1-4])", head):
        if origin:
            return f"origin{m.group(1)}_{'pcode' if is_code else 'name'}"
        if lang:
            return None  # alternate-language names: the gazetteer has them
        return f"adm{m.group(1)}_{'pcode' if is_code else 'name'}"
    if head == "adm" and "level" in a:
        return "admin_level"
    if head == "country":
        if origin:
            return None
        return "country_iso3" if is_code else "country_name"
    if head in {"loc", "site", "village", "settlement", "camp", "location"}:
        if "type" in a:
            return "site_type"
        if lang:
            return None
        return "site_code" if is_code else "site_name"
    if head == "geo":
        if a & {"lat", "latitude", "y"}:
            return "latitude"
        if a & {"lon", "long", "lng", "longitude", "x"}:
            return "longitude"
        return None
    if head == "date":
        if a & {"year", "month", "day", "quarter", "week"}:
            return None  # a part of a date (#date+year+reported), not the date itself
        if "reported" in a or not a:
            return "reporting_date"
        if "start" in a:
            return "period_start"
        if "end" in a:
            return "period_end"
        return None
    if head == "round" or (head == "meta" and "round" in a):
        return "round_number"
    if head == "operation" and "status" not in a:
        return "operation"
    if head == "assessment" or (head == "meta" and "assessment" in a):
        return "assessment_type"
    if head == "cause" and not a & {"bool", "yesno"}:
        return "reason"
    if head == "indicator" and "year" in a and "displacement" in a:
        return "displacement_period"
    if head == "shelter" or (head == "indicator" and "shelter" in a):
        return "shelter_type"
    return None
