"""The canonical model: the few explicit concepts every stage speaks."""

from mobtrack.model.records import (
    CANONICAL_COLUMNS,
    CANONICAL_SCHEMA,
    DISAGGREGATIONS,
    conform,
    empty_records,
)
from mobtrack.model.vocab import (
    AssessmentType,
    PopulationGroup,
    Role,
    RoundStatus,
    Severity,
    Unit,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_SCHEMA",
    "DISAGGREGATIONS",
    "AssessmentType",
    "PopulationGroup",
    "Role",
    "RoundStatus",
    "Severity",
    "Unit",
    "conform",
    "empty_records",
]
