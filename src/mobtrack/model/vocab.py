"""Controlled vocabularies of the canonical model.

Values are short lowercase slugs so that they read well in URLs, CSV and JSON.
Sources spell them many ways; `parse_*` helpers map the spellings we have met to one slug.
"""

from __future__ import annotations

import re
from enum import StrEnum

from unidecode import unidecode


class AssessmentType(StrEnum):
    BA = "BA"  # baseline area assessment
    SA = "SA"  # site / location assessment
    ETT = "ETT"  # emergency event tracking
    FMC = "FMC"  # flow-monitoring counts
    FMS = "FMS"  # flow-monitoring survey
    REG = "REG"  # registration
    SRV = "SRV"  # survey


ASSESSMENT_LABELS = {
    AssessmentType.BA: "Baseline area assessment",
    AssessmentType.SA: "Site / location assessment",
    AssessmentType.ETT: "Emergency event tracking",
    AssessmentType.FMC: "Flow monitoring counts",
    AssessmentType.FMS: "Flow monitoring survey",
    AssessmentType.REG: "Registration",
    AssessmentType.SRV: "Survey",
}


class PopulationGroup(StrEnum):
    IDPS = "idps"
    RETURNEES_INTERNAL = "returnees_internal"
    RETURNEES_ABROAD = "returnees_abroad"
    REFUGEES = "refugees"
    MIGRANTS = "migrants"
    HOST = "host_community"
    ABSENTEES = "absentees"


class Unit(StrEnum):
    INDIVIDUALS = "individuals"
    HOUSEHOLDS = "households"


class Role(StrEnum):
    """How an observation relates to the headline figure of its (round, location, group, unit).

    total     -- the whole figure, no disaggregation.
    part      -- one cell of a partition (e.g. DTM API v3 splits IDPs by reason x origin);
                 the parts add up to the figure, so they are summed when no total is given.
    breakdown -- a view of a total or part by sex, age...; never added into the headline figure,
                 only checked against it.
    """

    TOTAL = "total"
    PART = "part"
    BREAKDOWN = "breakdown"


class RoundStatus(StrEnum):
    DRAFT = "draft"
    VALIDATED = "validated"
    PUBLISHED = "published"


class Severity(StrEnum):
    ERROR = "error"  # blocks publishing (and, for file-level problems, the import)
    WARNING = "warning"  # recorded, does not block
    INFO = "info"


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", unidecode(str(text)).lower())


_GROUP_SPELLINGS = {
    PopulationGroup.IDPS: ["idp", "idps", "displaced", "internallydisplaced", "internallydisplacedpersons"],
    PopulationGroup.RETURNEES_INTERNAL: ["returnee", "returnees", "returneesinternal", "returneeidp",
                                         "idpreturnees", "returnedidps", "formeridps"],
    PopulationGroup.RETURNEES_ABROAD: ["returneesabroad", "returneesfromabroad", "returneeabroad",
                                       "returnedfromabroad", "returneesexternal"],
    PopulationGroup.REFUGEES: ["refugee", "refugees"],
    PopulationGroup.MIGRANTS: ["migrant", "migrants"],
    PopulationGroup.HOST: ["host", "hostcommunity", "hosts"],
    PopulationGroup.ABSENTEES: ["absentee", "absentees"],
}
_GROUP_LOOKUP = {s: g for g, spellings in _GROUP_SPELLINGS.items() for s in spellings + [_key(g.value)]}

_ASSESSMENT_SPELLINGS = {
    AssessmentType.BA: ["ba", "baseline", "baselineassessment", "baselinearea", "baselineareaassessment", "mobilitytracking"],
    AssessmentType.SA: ["sa", "siteassessment", "site", "locationassessment", "msla", "multisectorlocationassessment"],
    AssessmentType.ETT: ["ett", "eventtracking", "emergencytracking", "emergencyeventtracking"],
    AssessmentType.FMC: ["fmc", "fmp", "flowmonitoring", "flowmonitoringcounts", "flowmonitoringregistry"],
    AssessmentType.FMS: ["fms", "flowmonitoringsurvey"],
    AssessmentType.REG: ["reg", "registration", "biometricregistration"],
    AssessmentType.SRV: ["srv", "survey", "householdsurvey"],
}
_ASSESSMENT_LOOKUP = {s: a for a, spellings in _ASSESSMENT_SPELLINGS.items() for s in spellings}


def parse_group(text: str | None) -> PopulationGroup | None:
    if text is None:
        return None
    return _GROUP_LOOKUP.get(_key(text))


def parse_assessment_type(text: str | None) -> AssessmentType | None:
    if text is None:
        return None
    return _ASSESSMENT_LOOKUP.get(_key(text))


def parse_unit(text: str | None) -> Unit | None:
    if text is None:
        return None
    k = _key(text)
    if k in {"ind", "individual", "individuals", "persons", "people", "pers"}:
        return Unit.INDIVIDUALS
    if k in {"hh", "hhs", "household", "households", "families", "family"}:
        return Unit.HOUSEHOLDS
    return None
