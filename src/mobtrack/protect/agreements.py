"""Data-sharing agreements and retention.

Restricted and sensitive data leave only for an organisation with an active agreement that
names the dataset, for its stated purpose, until it expires. Retention rules say when data held
for a purpose must go; ``purge_expired`` deletes it through the purger registered for its kind
and logs each purge in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, insert, select, update

from mobtrack.protect import auditlog
from mobtrack.protect.classes import Sensitivity
from mobtrack.protect.tables import agreement, retention


class AccessDenied(PermissionError):
    """No active agreement covers this read; the web layer answers 403 with the message."""


@dataclass(frozen=True)
class Agreement:
    id: int
    partner_org: str
    purpose: str
    datasets: tuple[str, ...]
    max_sensitivity: Sensitivity
    starts_on: date
    expires_on: date

    def covers(self, dataset: str) -> bool:
        return any(dataset == d or (d.endswith("*") and dataset.startswith(d[:-1])) for d in self.datasets)


def create_agreement(engine: Engine, *, partner_org: str, purpose: str, datasets: list[str], expires_on: date,
                     starts_on: date | None = None, max_sensitivity: str = "restricted",
                     created_by: str = "system") -> int:
    if not partner_org.strip() or not purpose.strip():
        raise ValueError("an agreement needs a partner organisation and a purpose")
    if not datasets:
        raise ValueError("an agreement must name at least one dataset")
    starts_on = starts_on or date.today()
    if expires_on <= starts_on:
        raise ValueError(f"expiry {expires_on} must be after the start {starts_on}")
    level = Sensitivity.parse(max_sensitivity)
    if level == Sensitivity.PUBLIC:
        raise ValueError("public data needs no agreement; use restricted or sensitive")
    with engine.begin() as conn:
        new_id = conn.execute(insert(agreement).values(
            partner_org=partner_org, purpose=purpose, datasets=list(datasets), max_sensitivity=level.value,
            starts_on=starts_on, expires_on=expires_on, created_by=created_by, created_at=auditlog.now_iso(),
        )).inserted_primary_key[0]
    auditlog.record(engine, actor=created_by, action="agreement.create", target=f"agreement:{new_id}",
                    organisation=partner_org, purpose=purpose, details={"datasets": list(datasets),
                                                                         "expires_on": expires_on.isoformat()})
    return int(new_id)


def revoke_agreement(engine: Engine, agreement_id: int, by: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(update(agreement).where(agreement.c.id == agreement_id, agreement.c.revoked_at.is_(None))
                            .values(revoked_at=auditlog.now_iso())).rowcount
    if not done:
        raise LookupError(f"no active agreement {agreement_id}")
    auditlog.record(engine, actor=by, action="agreement.revoke", target=f"agreement:{agreement_id}")


def _load(conn: Connection, organisation: str, today: date) -> list[Agreement]:
    rows = conn.execute(select(agreement).where(
        agreement.c.partner_org == organisation, agreement.c.revoked_at.is_(None),
        agreement.c.starts_on <= today, agreement.c.expires_on >= today)).mappings()
    return [Agreement(r["id"], r["partner_org"], r["purpose"], tuple(r["datasets"]),
                      Sensitivity(r["max_sensitivity"]), r["starts_on"], r["expires_on"]) for r in rows]


def active_agreement(engine: Engine, organisation: str | None, dataset: str, sensitivity: Sensitivity | str,
                     today: date | None = None) -> Agreement | None:
    """The active agreement letting ``organisation`` read ``dataset`` at this sensitivity, if any."""
    if not organisation:
        return None
    level = Sensitivity.parse(sensitivity) if isinstance(sensitivity, str) else sensitivity
    with engine.connect() as conn:
        for a in _load(conn, organisation, today or date.today()):
            if a.covers(dataset) and a.max_sensitivity.rank >= level.rank:
                return a
    return None


def authorise_read(engine: Engine, *, actor: str, organisation: str | None, dataset: str,
                   sensitivity: Sensitivity | str, purpose: str | None, origin: str | None = None) -> Agreement | None:
    """Gate for every restricted or sensitive read: raises AccessDenied, or logs the read and returns
    the agreement it relied on (None for public data, which is not logged)."""
    level = Sensitivity.parse(sensitivity) if isinstance(sensitivity, str) else sensitivity
    if level == Sensitivity.PUBLIC:
        return None
    if not purpose:
        raise AccessDenied("state the purpose of this read: it is recorded with every sensitive read")
    found = active_agreement(engine, organisation, dataset, level)
    if found is None:
        auditlog.record(engine, actor=actor, action="read.denied", target=dataset, organisation=organisation,
                        purpose=purpose, origin=origin, details={"sensitivity": level.value})
        raise AccessDenied(f"{organisation or 'this caller'} has no active data-sharing agreement for {dataset} "
                           f"({level.value})")
    auditlog.record(engine, actor=actor, action="read", target=dataset, organisation=organisation, purpose=purpose,
                    origin=origin, details={"sensitivity": level.value, "agreement": found.id})
    return found


# --- retention --------------------------------------------------------------------------------

Purger = Callable[[Engine, str], int]  # (engine, dataset) -> rows deleted
PURGERS: dict[str, Purger] = {}


def register_purger(kind: str, purger: Purger) -> None:
    """Stages that hold data (store, web exports...) register how to delete a dataset of their kind."""
    PURGERS[kind] = purger


def add_retention(engine: Engine, *, dataset: str, kind: str, delete_after: date, reason: str, by: str) -> int:
    if kind not in PURGERS:
        raise ValueError(f"no purger registered for kind {kind!r} (known: {sorted(PURGERS)})")
    with engine.begin() as conn:
        rid = conn.execute(insert(retention).values(dataset=dataset, kind=kind, delete_after=delete_after,
                                                    reason=reason)).inserted_primary_key[0]
    auditlog.record(engine, actor=by, action="retention.add", target=dataset,
                    details={"kind": kind, "delete_after": delete_after.isoformat(), "rule": int(rid)})
    return int(rid)


def purge_expired(engine: Engine, today: date | None = None, by: str = "retention") -> list[dict]:
    """Delete everything past its retention date; each purge is logged. Returns what was purged."""
    today = today or date.today()
    with engine.connect() as conn:
        due = list(conn.execute(select(retention).where(retention.c.purged_at.is_(None),
                                                        retention.c.delete_after < today)).mappings())
    done = []
    for rule in due:
        purger = PURGERS.get(rule["kind"])
        if purger is None:
            raise RuntimeError(f"retention rule {rule['id']}: no purger registered for kind {rule['kind']!r}")
        rows = purger(engine, rule["dataset"])
        with engine.begin() as conn:
            conn.execute(update(retention).where(retention.c.id == rule["id"])
                         .values(purged_at=auditlog.now_iso(), purged_rows=rows))
        auditlog.record(engine, actor=by, action="retention.purge", target=rule["dataset"],
                        details={"kind": rule["kind"], "rows": rows, "rule": rule["id"]})
        done.append({"rule": rule["id"], "dataset": rule["dataset"], "kind": rule["kind"], "rows": rows})
    return done
