"""The gate every output goes through: the only functions the web, API, export and report code call.

* ``public_table``   -- aggregate figures for anyone: personal fields dropped, coordinates
                        rounded, small cells suppressed across the linked cube (or a stored DP
                        release), with the protection applied described next to the figures.
* ``public_records`` -- lists of places or sites (no counts to suppress): field policy only.
* ``export_microdata`` -- records of people or households: only when k >= 5, l >= 2 and global
                        risk < 3%, or under an active data-sharing agreement; always audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Engine

from mobtrack.protect import auditlog
from mobtrack.protect.agreements import AccessDenied, active_agreement
from mobtrack.protect.classes import FieldPolicy, Sensitivity, apply_field_policy, strictest
from mobtrack.protect.cube import TableSpec
from mobtrack.protect.microdata import RiskReport, assess
from mobtrack.protect.suppression import suppress


class NotPublic(PermissionError):
    """Restricted or sensitive data asked for through a public output."""


@dataclass
class PublicTable:
    table: pl.DataFrame
    protection: dict = field(default_factory=dict)  # published with the figures


def public_table(frame: pl.DataFrame, spec: TableSpec, *, sensitivity: Sensitivity | str = Sensitivity.PUBLIC,
                 margins: bool = False, policy: FieldPolicy | None = None, dp: dict | None = None,
                 engine: Engine | None = None) -> PublicTable:
    """Protect a table of leaf counts for public release.

    ``sensitivity``: the class of the dataset/round/fields it was made from (the strictest wins).
    ``dp``: instead of suppression, a stored differentially private release, given as
    ``{"dataset": key, "places": frame, "epsilon": e, "by": user}`` (needs ``engine``).
    """
    level = strictest(*(sensitivity if isinstance(sensitivity, list | tuple) else [sensitivity]))
    if level != Sensitivity.PUBLIC:
        raise NotPublic(f"{level.value} data cannot go into a public output; share it under an agreement")
    personal = [c for c in [*spec.keys, *([spec.round] if spec.round else [])]
                if apply_field_policy(pl.DataFrame({c: []}), policy)[1].dropped]
    if personal:
        raise NotPublic(f"personal fields cannot be published, even as table dimensions: {personal}")
    if dp is not None:
        if engine is None:
            raise ValueError("a DP release is stored in the database: pass engine")
        from mobtrack.protect.ledger import release

        stored = release(engine, dataset=dp["dataset"], frame=frame, spec=spec, places=dp["places"],
                         epsilon=dp["epsilon"], contributions=dp.get("contributions", 1), by=dp["by"],
                         purpose=dp.get("purpose"))
        table = stored.table
        if not margins:  # the leaf rows only, like the suppressed table without margins
            leaf = [pl.col("level") == len(spec.hierarchy), *[pl.col(d).is_not_null() for d in spec.disaggregations]]
            table = table.filter(*leaf).drop("level")
        return PublicTable(table, {"method": "differential_privacy", **stored.metadata(), "reused": stored.reused})
    result = suppress(frame, spec)
    return PublicTable(result.table(margins=margins), {
        "method": "small_cell_suppression",
        "threshold": spec.threshold,
        "shown_zero": True,
        "linked": {"levels": list(spec.hierarchy), "disaggregations": list(spec.disaggregations),
                   "round": spec.round, "round_kind": spec.round_kind if spec.round else None},
        **result.counts,
    })


def public_records(frame: pl.DataFrame, *, sensitivity: Sensitivity | str = Sensitivity.PUBLIC,
                   policy: FieldPolicy | None = None) -> tuple[pl.DataFrame, dict]:
    """Places, sites and other non-count lists: personal fields dropped, coordinates rounded."""
    if strictest(sensitivity) != Sensitivity.PUBLIC:
        raise NotPublic("restricted or sensitive records cannot go into a public output")
    out, report = apply_field_policy(frame, policy)
    return out, {"dropped": report.dropped, "rounded": report.rounded,
                 "coordinate_decimals": (policy or FieldPolicy()).coordinate_decimals}


@dataclass
class ExportDecision:
    allowed: bool
    basis: str  # "risk_thresholds" | "agreement:<id>" | "refused"
    risk: RiskReport
    problems: list[str]


def export_microdata(engine: Engine, frame: pl.DataFrame, *, dataset: str, quasi_identifiers: Sequence[str],
                     sensitive: str | None = None, weight: str | None = None, actor: str,
                     organisation: str | None, purpose: str, origin: str | None = None,
                     policy: FieldPolicy | None = None) -> tuple[pl.DataFrame, ExportDecision]:
    """Release microdata, or raise AccessDenied. Personal fields (names, phones, IDs, household
    GPS) are always removed first; the risk is measured on what would actually leave."""
    if not purpose:
        raise AccessDenied("state the purpose of the export: it is recorded")
    cleaned, report = apply_field_policy(frame, policy)
    missing = [c for c in [*quasi_identifiers, *([sensitive] if sensitive else [])] if c not in cleaned.columns]
    if missing:
        raise ValueError(f"declared columns are personal fields or absent: {missing}")
    risk = assess(cleaned, quasi_identifiers, sensitive, weight)
    basis = "risk_thresholds" if risk.passes else None
    if basis is None:
        found = active_agreement(engine, organisation, dataset, Sensitivity.SENSITIVE)
        basis = f"agreement:{found.id}" if found else None
    details = {"k": risk.k, "l": risk.l_div, "global_risk": round(risk.global_risk, 6), "records": risk.records,
               "basis": basis or "refused", "dropped_personal_columns": sorted(report.dropped)}
    auditlog.record(engine, actor=actor, action="microdata.export" if basis else "microdata.export.denied",
                    target=dataset, organisation=organisation, purpose=purpose, origin=origin, details=details)
    decision = ExportDecision(basis is not None, basis or "refused", risk, risk.problems())
    if basis is None:
        raise AccessDenied(f"microdata export of {dataset} refused: {'; '.join(risk.problems())}; "
                           "recode or suppress (mobtrack.protect.microdata), or export under an active agreement")
    return cleaned, decision
