"""Sensitivity classes and the personal-field policy for public outputs.

Every dataset, round and field carries one of three classes (DTM's own scheme, with
"urgent action" folded into sensitive): public figures may be published after protection;
restricted and sensitive ones leave only under a data-sharing agreement. Personal fields --
names, phone numbers, identity numbers, household GPS -- never appear in a public output,
whatever class the dataset was given: they are recognised by name, so a new column called
``head_of_household_name`` is caught without anyone remembering to list it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl
from sqlalchemy import Engine, delete, insert, select


class Sensitivity(StrEnum):
    PUBLIC = "public"
    RESTRICTED = "restricted"
    SENSITIVE = "sensitive"

    @property
    def rank(self) -> int:
        return ["public", "restricted", "sensitive"].index(self.value)

    @classmethod
    def parse(cls, text: str | None) -> Sensitivity:
        """Read a class as sources write it; unknown or missing means sensitive (safe default)."""
        key = re.sub(r"[^a-z]", "", str(text or "").lower())
        if key in {"public", "open"}:
            return cls.PUBLIC
        if key in {"restricted", "internal", "limited"}:
            return cls.RESTRICTED
        return cls.SENSITIVE


def strictest(*classes: Sensitivity | str | None) -> Sensitivity:
    """A figure is as sensitive as the most sensitive thing it was made from."""
    parsed = [Sensitivity.parse(c) if not isinstance(c, Sensitivity) else c for c in classes if c is not None]
    return max(parsed, key=lambda c: c.rank) if parsed else Sensitivity.SENSITIVE


def classify(engine: Engine, target: str, sensitivity: Sensitivity | str, by: str) -> Sensitivity:
    """Record the class of a dataset ("op:12"), a round ("op:12/round:3") or a field
    ("op:12/field:hh_size"); the change is audited."""
    from mobtrack.protect import auditlog
    from mobtrack.protect.tables import classification

    text = str(sensitivity).strip().lower()
    if text not in {c.value for c in Sensitivity}:
        raise ValueError(f"sensitivity must be public, restricted or sensitive, got {sensitivity!r}")
    level = Sensitivity(text)
    with engine.begin() as conn:
        conn.execute(delete(classification).where(classification.c.target == target))
        conn.execute(insert(classification).values(target=target, sensitivity=level.value, set_by=by,
                                                   set_at=auditlog.now_iso()))
    auditlog.record(engine, actor=by, action="classify", target=target, details={"sensitivity": level.value})
    return level


def class_of(engine: Engine, *targets: str, default: Sensitivity) -> Sensitivity:
    """The strictest class among the targets (a round's figures: its dataset, the round and every field
    used). Unclassified targets count as ``default``, which the caller must choose explicitly."""
    from mobtrack.protect.tables import classification

    with engine.connect() as conn:
        found = dict(conn.execute(select(classification.c.target, classification.c.sensitivity)
                                  .where(classification.c.target.in_(targets))).all())
    return strictest(*[Sensitivity(found[t]) if t in found else default for t in targets])


# Column-name patterns of personal data (matched on lowercase names with separators removed).
PERSONAL_PATTERNS = {
    "name": r"(^|_)(first|last|full|given|family|sur|respondent|hoh|head|enumerator|person|contact|informant)_?name|(^|_)name_of",
    "phone": r"phone|mobile|msisdn|tel(ephone)?(_|$)|whatsapp",
    "id_number": r"(national|passport|id_card|idcard|biometric|registration|reg|unhcr|voter|birth_cert)_?(id|no|num|number)|(^|_)nin($|_)|(^|_)ssn($|_)|passport",
    "household_gps": r"(hh|household|home|house|dwelling|shelter)_?(gps|lat|lon|coord|location)|gps_coords|(^|_)gps",
    "email": r"e_?mail",
    "address": r"(street|home|postal)_?address",
}
_COMPILED = {kind: re.compile(p) for kind, p in PERSONAL_PATTERNS.items()}


def personal_kind(column: str) -> str | None:
    """Which kind of personal data a column name denotes, or None."""
    name = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")
    for kind, pattern in _COMPILED.items():
        if pattern.search(name):
            return kind
    return None


@dataclass(frozen=True)
class FieldPolicy:
    """What a public output may contain.

    coordinate_decimals   public coordinates are rounded to this many decimals (2 = 0.01 degree,
                          about 1.1 km at the equator): enough for a map, not for a house.
    latitude/longitude    names of coordinate columns (site or village locations, not households).
    extra_personal        further columns a dataset declares personal.
    field_classes         per-column sensitivity; anything not public is dropped from public output.
    """

    coordinate_decimals: int = 2
    latitude: tuple[str, ...] = ("latitude", "lat")
    longitude: tuple[str, ...] = ("longitude", "lon", "lng")
    extra_personal: tuple[str, ...] = ()
    field_classes: dict[str, Sensitivity] = field(default_factory=dict)

    def __post_init__(self):
        if not 0 <= self.coordinate_decimals <= 4:
            raise ValueError("coordinate_decimals must be 0..4 (4 is about 11 m; finer identifies a house)")


@dataclass
class PolicyReport:
    dropped: dict[str, str]  # column -> why
    rounded: list[str]


def apply_field_policy(frame: pl.DataFrame, policy: FieldPolicy | None = None) -> tuple[pl.DataFrame, PolicyReport]:
    """Drop personal and non-public columns, round coordinates; return the frame and what was done."""
    policy = policy or FieldPolicy()
    dropped: dict[str, str] = {}
    for col in frame.columns:
        kind = "declared personal" if col in policy.extra_personal else personal_kind(col)
        if kind:
            dropped[col] = f"personal ({kind})"
        elif policy.field_classes.get(col, Sensitivity.PUBLIC) != Sensitivity.PUBLIC:
            dropped[col] = f"field class {policy.field_classes[col]}"
    out = frame.drop(list(dropped))
    coords = [c for c in out.columns if c.lower() in {*policy.latitude, *policy.longitude}]
    rounded = []
    for c in coords:
        if not out.schema[c].is_numeric():
            out = out.drop(c)
            dropped[c] = "coordinate that is not numeric (cannot be rounded)"
            continue
        out = out.with_columns(pl.col(c).cast(pl.Float64).round(policy.coordinate_decimals))
        rounded.append(c)
    return out, PolicyReport(dropped, rounded)
