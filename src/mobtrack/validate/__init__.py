"""Validation: a registry of small rules, each reporting issues per row with a severity.

Two kinds of rule:
- `RowRule.check(records, ctx)` looks at a batch of canonical records (after place matching,
  so the match columns are there) and yields issues, vectorised with Polars.
- `RoundRule.check_round(records, ctx)` looks at one whole round at once (duplicates, sums,
  change against the previous round, ...).

A new rule is one new module in `mobtrack/validate/rules/` that defines a subclass and
decorates it with `@rule`. Rules never raise on bad data and never modify the records.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate.issue import ImportRejected, Issue

# Columns the gazetteer stage adds to canonical records before rules run.
MATCH_COLUMNS: dict[str, pl.DataType] = {
    "location_pcode": pl.String,  # resolved p-code of the row's place (null when not accepted)
    "match_method": pl.String,  # exact-code | normalised-code | exact-name | normalised-name | fuzzy | alias | source
    "match_score": pl.Float64,  # 0-100
    "match_status": pl.String,  # matched | review | unmatched
    "match_detail": pl.String,  # human-readable note, e.g. "PCode length TD07->TCD07"
}


@dataclass
class RuleContext:
    file: str
    settings: dict = field(default_factory=dict)
    # figures (location_pcode, population_group, unit, value) of the previous round of the same
    # operation and assessment type, or None; set per round by the pipeline.
    previous_figures: pl.DataFrame | None = None
    # headline totals of rounds already stored: callable(operation) -> DataFrame
    # (assessment_type, round_number, population_group, unit, value)
    stored_round_totals: Callable[[str], pl.DataFrame] | None = None

    def setting(self, key: str, default):
        return self.settings.get(key, default)


class RowRule:
    slug: ClassVar[str]
    severity: ClassVar[Severity]
    description: ClassVar[str]

    def check(self, records: pl.DataFrame, ctx: RuleContext) -> Iterable[Issue]:
        raise NotImplementedError


class RoundRule:
    slug: ClassVar[str]
    severity: ClassVar[Severity]
    description: ClassVar[str]

    def check_round(self, records: pl.DataFrame, ctx: RuleContext) -> Iterable[Issue]:
        raise NotImplementedError


RULES: dict[str, RowRule | RoundRule] = {}


def rule(cls):
    RULES[cls.slug] = cls()
    return cls


def _load_rules() -> None:
    if RULES:
        return
    for info in pkgutil.iter_modules([str(Path(__file__).parent / "rules")]):
        importlib.import_module(f"mobtrack.validate.rules.{info.name}")


def issues_from_rows(
    rows: pl.DataFrame, ctx: RuleContext, slug: str, severity: Severity, message: str | Callable[[dict], str],
    column: str | None = None, value_column: str | None = None,
) -> list[Issue]:
    """Turn the offending rows of a check into issues, one per row, with provenance."""
    out = []
    for r in rows.iter_rows(named=True):
        out.append(Issue(
            severity=severity, rule=slug,
            message=message(r) if callable(message) else message,
            file=ctx.file, sheet=r.get("source_sheet"), row=r.get("source_row"),
            column=column or r.get("source_column"),
            value=None if value_column is None or r.get(value_column) is None else str(r.get(value_column)),
        ))
    return out


def check_rows(records: pl.DataFrame, ctx: RuleContext) -> list[Issue]:
    _load_rules()
    out: list[Issue] = []
    for r in RULES.values():
        if isinstance(r, RowRule):
            out.extend(r.check(records, ctx))
    return out


def check_round(records: pl.DataFrame, ctx: RuleContext) -> list[Issue]:
    _load_rules()
    out: list[Issue] = []
    for r in RULES.values():
        if isinstance(r, RoundRule):
            out.extend(r.check_round(records, ctx))
    return out


__all__ = ["MATCH_COLUMNS", "RULES", "ImportRejected", "Issue", "RoundRule", "RowRule", "RuleContext",
           "check_round", "check_rows", "issues_from_rows", "rule"]
