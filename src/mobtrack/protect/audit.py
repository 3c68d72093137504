"""The audit log as the web layer calls it: ``append(conn, **entry)`` inside the request's transaction.

The web layer builds entries as {at, user, organisation, role, via, action, target, purpose, client,
details}; this maps them onto the hash-chained log of mobtrack.protect.auditlog (role and channel go
into the details) and appends them on the caller's connection, so that an entry is committed with
the change it records and nothing else has to hold a second write lock (SQLite allows one writer).
"""

from __future__ import annotations

from sqlalchemy import Connection

from mobtrack.protect.auditlog import _check_details, append_in, now_iso


def append(conn: Connection, *, action: str, user: str | None = None, organisation: str | None = None,
           target: str | None = None, purpose: str | None = None, client: str | None = None,
           role: str | None = None, via: str | None = None, details: dict | None = None,
           at: str | None = None) -> dict:
    if not action:
        raise ValueError("an audit entry needs an action")
    extra = {k: v for k, v in {"role": role, "via": via}.items() if v is not None}
    entry = {"at": at or now_iso(), "actor": user or "anonymous", "organisation": organisation, "action": action,
             "target": target or "-", "purpose": purpose, "origin": client,
             "details": _check_details({**(details or {}), **extra} or None)}
    return append_in(conn, entry)
