"""Every login, upload, publish, export and sensitive read goes through `record`.

The tamper-evident audit log (hash chain, `mobtrack audit verify`) belongs to mobtrack.protect.
Changes are recorded on the request's own connection, so the entry commits with the change; reads
(`alone=True`) are recorded in a short transaction of their own (on PostgreSQL the request's reads so
far share it), also on the request's connection (never a second pooled one). Appenders take turns on the chain's tail (a lock, not retries: see
protect.auditlog.append_alone), so a read costs one small insert and a wait behind the other appends
in flight. A read that cannot be recorded is not served (the error propagates). What is recorded:
who, their organisation, what, on which object, when, why (purpose), from where; never the personal
values themselves.
"""

from __future__ import annotations

from sqlalchemy import Connection

from mobtrack.protect import audit
from mobtrack.store.bulk import is_psycopg
from mobtrack.web.services.principal import Principal


def record(conn: Connection, who: Principal, action: str, target: str | None = None,
           purpose: str | None = None, client: str | None = None, details: dict | None = None,
           alone: bool = False) -> dict:
    entry = {"user": who.label(), "organisation": who.organisation, "role": who.role, "via": who.via,
             "action": action, "target": target, "purpose": purpose, "client": client, "details": details or {}}
    if alone:
        if is_psycopg(conn):
            # The request's transaction so far (its reads, a token's last-used time) is committed
            # with the entry when this thread writes the batch: no COMMIT and BEGIN of its own.
            return audit.append_alone(conn, commit_open=True, **entry)
        # Whatever this request wrote so far (a token's last-used time...) is committed first: it
        # holds SQLite's write lock, which the entry's own transaction would wait for forever.
        conn.commit()
        return audit.append_alone(conn, **entry)
    return audit.append(conn, **entry)
