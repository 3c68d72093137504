"""The audit log as the web layer calls it: entries as {at, user, organisation, role, via, action,
target, purpose, client, details}, mapped onto the hash-chained log of mobtrack.protect.auditlog (role
and channel go into the details).

`append(conn, ...)` writes on the caller's connection, so that an entry commits with the change it
records; `append_alone(engine or connection, ...)` writes in a short transaction of its own (reads,
which change nothing).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from mobtrack.protect.auditlog import _check_details, append_in, now_iso
from mobtrack.protect.auditlog import append_alone as _append_alone


def entry_of(*, action: str, user: str | None = None, organisation: str | None = None, target: str | None = None,
             purpose: str | None = None, client: str | None = None, role: str | None = None, via: str | None = None,
             details: dict | None = None, at: str | None = None) -> dict:
    if not action:
        raise ValueError("an audit entry needs an action")
    extra = {k: v for k, v in {"role": role, "via": via}.items() if v is not None}
    return {"at": at or now_iso(), "actor": user or "anonymous", "organisation": organisation, "action": action,
            "target": target or "-", "purpose": purpose, "origin": client,
            "details": _check_details({**(details or {}), **extra} or None)}


def append(conn: Connection, **entry) -> dict:
    return append_in(conn, entry_of(**entry))


def append_alone(bind: Engine | Connection, commit_open: bool = False, **entry) -> dict:
    return _append_alone(bind, entry_of(**entry), commit_open)
