"""The audit log: one entry per sensitive read or change, append-only and hash-chained.

Each entry records who, for which organisation, did what to which object, when, for what
purpose and from where -- never the personal values themselves (details whose keys look like
personal fields are refused). ``hash = sha256(prev_hash + canonical entry)``, so editing or
deleting any entry breaks every hash after it; `mobtrack audit verify` recomputes the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from mobtrack.protect.classes import personal_kind
from mobtrack.protect.tables import audit_log

GENESIS = "0" * 64
FIELDS = ("at", "actor", "organisation", "action", "target", "purpose", "origin", "details")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _digest(prev_hash: str, entry: dict[str, Any]) -> str:
    body = json.dumps({k: entry.get(k) for k in FIELDS}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _check_details(details: dict | None) -> str | None:
    if details is None:
        return None
    personal = [k for k in details if personal_kind(k)]
    if personal:
        raise ValueError(f"audit details must not carry personal values; remove {personal}")
    return json.dumps(details, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def record(
    engine: Engine,
    *,
    actor: str,
    action: str,
    target: str,
    organisation: str | None = None,
    purpose: str | None = None,
    origin: str | None = None,
    details: dict | None = None,
) -> dict:
    """Append one entry and return it (with its hash)."""
    if not actor or not action or not target:
        raise ValueError("an audit entry needs actor, action and target")
    entry = {"at": now_iso(), "actor": actor, "organisation": organisation, "action": action, "target": target,
             "purpose": purpose, "origin": origin, "details": _check_details(details)}
    for _attempt in range(20):
        try:
            with engine.begin() as conn:
                return _append(conn, entry)
        except IntegrityError:  # another writer took the same tail: chain onto theirs instead
            continue
    raise RuntimeError("could not append to the audit log after 20 attempts (heavy contention?)")


def append_in(conn: Connection, entry: dict) -> dict:
    """Append inside the caller's transaction (so the entry commits or rolls back with the change it
    records). A savepoint lets a writer that lost the race for the tail retry on the new tail.
    Not on SQLite: there writers are serialised anyway, and the pysqlite driver turns the release of
    an outermost SAVEPOINT into a COMMIT, which would commit the entry without the caller's change."""
    if conn.dialect.name == "sqlite":
        return _append(conn, entry)
    for _attempt in range(20):
        try:
            with conn.begin_nested():
                return _append(conn, entry)
        except IntegrityError:
            continue
    raise RuntimeError("could not append to the audit log after 20 attempts (heavy contention?)")


def _append(conn: Connection, entry: dict) -> dict:
    tail = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)).scalar()
    prev = tail or GENESIS
    row = {**entry, "prev_hash": prev, "hash": _digest(prev, entry)}
    conn.execute(insert(audit_log).values(**row))
    return row


def entries(engine: Engine) -> Iterator[dict]:
    with engine.connect() as conn:
        for row in conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings():
            yield dict(row)


@dataclass
class Verification:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify(engine: Engine) -> Verification:
    """Recompute the chain from the first entry; report the first entry that does not fit."""
    prev = GENESIS
    n = 0
    for row in entries(engine):
        n += 1
        if row["prev_hash"] != prev:
            return Verification(False, n, row["id"], "previous-hash link broken (an entry was removed or reordered)")
        if _digest(prev, row) != row["hash"]:
            return Verification(False, n, row["id"], "content does not match its hash (the entry was altered)")
        prev = row["hash"]
    return Verification(True, n)


def export_jsonl(engine: Engine, out: IO[str]) -> int:
    """Write every entry as one JSON object per line (details decoded); returns the count."""
    n = 0
    for row in entries(engine):
        row["details"] = json.loads(row["details"]) if row["details"] else None
        out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n
