"""Every login, upload, publish, export and sensitive read goes through `record`.

The tamper-evident audit log (hash chain, `mobtrack audit verify`) belongs to mobtrack.protect.
`record` hands each entry to it when it is installed; until then it writes the same entry to the
`mobtrack.audit` logger, so the call sites are in place and only this function changes when it lands.
What is recorded: who, their organisation, what, on which object, when, why (purpose), from where;
never the personal values themselves.
"""

from __future__ import annotations

import json
import logging
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


def record(conn: Connection | None, who: Principal, action: str, target: str | None = None,
           purpose: str | None = None, client: str | None = None, details: dict | None = None) -> dict:
    entry = {
        "at": datetime.now(UTC).isoformat(), "user": who.label(), "organisation": who.organisation,
        "role": who.role, "via": who.via, "action": action, "target": target, "purpose": purpose,
        "client": client, "details": details or {},
    }
    append = _protect_log()
    if append is not None and conn is not None:
        append(conn, **entry)
    else:
        log.info(json.dumps(entry, default=str, ensure_ascii=False))
    return entry
