"""Every login, upload, publish, export and sensitive read goes through `record`.

The tamper-evident audit log (hash chain, `mobtrack audit verify`) belongs to mobtrack.protect
(`mobtrack.protect.audit.append`). Changes are recorded on the request's own connection, so the entry
commits with the change; reads (`alone=True`) are recorded in a short transaction of their own, retried
when another writer wins the race for SQLite's single write lock. A read that cannot be recorded is
not served (the error propagates). Without the protect stage the entry goes to the `mobtrack.audit`
logger. What is recorded: who, their organisation, what, on which object, when, why (purpose), from
where; never the personal values themselves.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import Connection

from mobtrack.web.services.principal import Principal

log = logging.getLogger("mobtrack.audit")


def _protect_log():
    try:
        from mobtrack.protect import audit  # noqa: PLC0415 -- optional until the protect stage ships it
    except ImportError:
        return None
    return getattr(audit, "append", None)


# The chain is serial by nature (each entry names the previous one): threads of one process take turns
# here instead of all racing for the tail in the database and retrying.
_CHAIN = threading.Lock()


def _append_alone(append, conn: Connection, entry: dict) -> None:
    with _CHAIN:
        _append_with_retries(append, conn, entry)


def _append_with_retries(append, conn: Connection, entry: dict) -> None:
    import random
    import time

    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(60):
        try:
            with conn.engine.begin() as own:
                append(own, **entry)
            return
        except (OperationalError, IntegrityError, RuntimeError) as exc:
            # Another process took the chain's tail first: SQLite says "database is locked", or the
            # read snapshot still saw the old tail (unique prev_hash), or protect gave up its own
            # retries. A fresh transaction sees the new tail.
            retry = not isinstance(exc, OperationalError) or "locked" in str(exc).lower()
            if not retry or attempt == 59:
                raise
            time.sleep(random.uniform(0.002, 0.02) * (1 + attempt // 10))  # noqa: S311 -- jitter, not a secret


def record(conn: Connection | None, who: Principal, action: str, target: str | None = None,
           purpose: str | None = None, client: str | None = None, details: dict | None = None,
           alone: bool = False) -> dict:
    entry = {
        "at": datetime.now(UTC).isoformat(), "user": who.label(), "organisation": who.organisation,
        "role": who.role, "via": who.via, "action": action, "target": target, "purpose": purpose,
        "client": client, "details": details or {},
    }
    append = _protect_log()
    if append is not None and conn is not None:
        if alone:
            # Whatever this request wrote so far (a session's idle timer...) is committed first: a
            # second connection waiting for the lock this one holds would wait forever on SQLite.
            conn.commit()
            _append_alone(append, conn, entry)
        else:
            append(conn, **entry)
    else:
        log.info(json.dumps(entry, default=str, ensure_ascii=False))
    return entry
