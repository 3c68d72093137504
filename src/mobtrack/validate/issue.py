"""An issue: one thing a stage could not trust, located precisely enough to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mobtrack.model.vocab import Severity


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    rule: str  # slug, e.g. "non-numeric-count"
    message: str
    file: str | None = None
    sheet: str | None = None
    row: int | None = None  # 1-based row number in the source sheet/file as a spreadsheet shows it
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = str(self.severity)
        return d


class ImportRejected(Exception):
    """The file as a whole cannot be imported; nothing was written. Carries the issues that say why."""

    def __init__(self, message: str, issues: list[Issue] | None = None):
        super().__init__(message)
        self.issues = issues or []
