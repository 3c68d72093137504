"""The audit log: one entry per sensitive read or change, append-only and hash-chained.

Each entry records who, for which organisation, did what to which object, when, for what
purpose and from where -- never the personal values themselves (details whose keys look like
personal fields are refused). ``hash = sha256(prev_hash + canonical entry)``, so editing or
deleting any entry breaks every hash after it; `mobtrack audit verify` recomputes the chain.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from mobtrack.protect.classes import personal_kind
from mobtrack.protect.tables import audit_log
from mobtrack.store.bulk import is_psycopg

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
    """Append one entry in a short transaction of its own and return it (with its hash)."""
    if not actor or not action or not target:
        raise ValueError("an audit entry needs actor, action and target")
    entry = {"at": now_iso(), "actor": actor, "organisation": organisation, "action": action, "target": target,
             "purpose": purpose, "origin": origin, "details": _check_details(details)}
    return append_alone(engine, entry)


# The chain is serial by nature: each entry names the one before it, so appenders take turns on a
# lock instead of racing for the tail and retrying. Between processes that lock is the database's
# (_hold_tail). Within a process, entries recorded alone are written by group commit: whoever holds
# _CHAIN writes every entry waiting in _PENDING in one transaction, so twenty concurrent readers cost
# one or two commits (on PostgreSQL each commit waits for a WAL flush, milliseconds on a busy disk,
# and the tail stays locked until it is done), not twenty in a row.
_CHAIN = threading.Lock()
_QUEUE = threading.Lock()  # guards _PENDING only, never held while waiting for anything else
_PENDING: dict[str, list[_Slot]] = {}

# Key of the PostgreSQL advisory lock that guards the chain's tail (any fixed 64-bit number will do,
# as long as every writer uses the same one): b"mtaudit" as an integer.
TAIL_LOCK_KEY = int.from_bytes(b"mtaudit", "big")


@dataclass
class _Slot:
    entry: dict
    row: dict | None = None
    error: BaseException | None = None
    done: bool = False


def append_alone(bind: Engine | Connection, entry: dict, commit_open: bool = False) -> dict:
    """Append in a transaction of its own, committed before this returns; for records that go with no
    change of their own (reads, CLI actions).

    `bind` is an engine, or a connection with no transaction open (a request's, after its commit):
    reusing the request's connection matters, because requests that each held one pooled connection
    while waiting for a second could exhaust the pool together and wait forever. The entry is queued;
    the thread that gets _CHAIN writes the whole queue and commits, and the others find theirs done.

    `commit_open` (PostgreSQL through psycopg only): the connection may have a transaction open (a
    request's reads, or writes it would commit anyway); if this thread writes the batch, that
    transaction is the batch's and is committed with it, and the connection is left with none open at
    the driver (SQLAlchemy's next statement begins another). This saves the COMMIT and BEGIN round
    trips a commit beforehand costs. Without it, or on other databases, an open transaction is refused.
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn:  # checked out before the lock: the lock's holder never waits for the pool
            return append_alone(conn, entry)
    if bind.in_transaction() and not (commit_open and is_psycopg(bind)):
        raise RuntimeError("append_alone needs a connection without an open transaction (commit first)")
    key = str(bind.engine.url)
    slot = _Slot(entry)
    with _QUEUE:
        _PENDING.setdefault(key, []).append(slot)
    with _CHAIN:
        # Not done yet means no holder of _CHAIN took it from the queue: it is ours to write, with
        # whatever else is waiting (a holder marks its whole batch done before it lets go).
        if not slot.done:
            with _QUEUE:
                batch = _PENDING.pop(key)
            _write_batch(bind, batch)
    if slot.error is not None:
        raise RuntimeError(f"the audit entry could not be recorded: {slot.error}") from slot.error
    return slot.row


def _write_batch(conn: Connection, batch: list[_Slot]) -> None:
    try:
        if is_psycopg(conn):  # psycopg 3's pipeline: two round trips (see _chain_pipelined)
            rows = _chain_pipelined(conn.connection.dbapi_connection, [s.entry for s in batch])
        else:
            rows = _chain(conn, [s.entry for s in batch])
            conn.commit()
    except BaseException as exc:
        for s in batch:
            s.error = exc
        conn.rollback()  # if this fails too, the batch still carries the first error
    else:
        for s, row in zip(batch, rows, strict=True):
            s.row = row
    finally:
        for s in batch:  # done either way: a waiting thread must never find its entry lost
            s.done = True


def append_in(conn: Connection, entry: dict) -> dict:
    """Append inside the caller's transaction, so the entry commits or rolls back with the change it
    records. The chain's tail stays locked until that transaction ends: append last, just before the
    commit, or every other appender waits for the rest of the caller's work."""
    return _chain(conn, [entry])[0]


# Built once: building a statement costs more than running it.
_TAIL = select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
_LOCK_TAIL = select(func.pg_advisory_xact_lock(TAIL_LOCK_KEY))
_INSERT = insert(audit_log)
_COLUMNS = ("at", "actor", "organisation", "action", "target", "purpose", "origin", "details", "prev_hash", "hash")


def _linked(prev: str, entries: list[dict]) -> list[dict]:
    rows = []
    for entry in entries:
        rows.append({**entry, "prev_hash": prev, "hash": _digest(prev, entry)})
        prev = rows[-1]["hash"]
    return rows


def _chain(conn: Connection, entries: list[dict]) -> list[dict]:
    """Insert `entries` after the current tail, in order (ids ascend in chain order: verify reads by id)."""
    _hold_tail(conn)
    rows = _linked(conn.execute(_TAIL).scalar() or GENESIS, entries)
    try:
        # one statement for the batch (executemany: pipelined by psycopg), in chain order; ids are
        # assigned in that order too, as one INSERT per entry did
        conn.execute(_INSERT, _uniform(rows))
    except IntegrityError as exc:  # unique prev_hash: someone appended without taking the lock
        raise _moved(exc) from exc
    return rows


def _moved(exc: BaseException) -> RuntimeError:
    return RuntimeError("the audit chain's tail moved while it was locked; was it written around "
                        "mobtrack.protect.auditlog?")


_PG_LOCK = f"SELECT pg_advisory_xact_lock({TAIL_LOCK_KEY})"
_PG_TAIL = f"SELECT hash FROM {audit_log.name} ORDER BY id DESC LIMIT 1"
_PG_INSERT = (f"INSERT INTO {audit_log.name} ({', '.join(_COLUMNS)}) "
              f"VALUES ({', '.join(f'%({c})s' for c in _COLUMNS)})")


def _chain_pipelined(pg, entries: list[dict]) -> list[dict]:
    """`_chain` and the commit on PostgreSQL in two round trips, on the psycopg connection under a
    SQLAlchemy connection: [BEGIN,] lock, tail; then the inserts and COMMIT. A transaction already open
    on the connection (a request's reads) is the one committed; otherwise this one is the driver's
    alone, begun and committed here. Either way none is open when this returns or raises.

    The chain's tail stays locked from the lock to the commit, and every other appender, in this
    process and the others, waits for it: under load each round trip ends with a wait for the
    interpreter lock (other request threads hold it), so fewer round trips hold the tail for less
    time. The tail is read by a statement of its own after the lock's, so its snapshot is taken once
    the lock is granted and it sees the tail the previous holder committed. psycopg's own BEGIN and
    COMMIT (and its transaction() block) each end with a Sync that waits for the server: here BEGIN and
    COMMIT are plain statements in the pipeline (in autocommit mode, so psycopg adds no BEGIN of its
    own), and the pipeline's one closing Sync collects everything.
    """
    from psycopg import pq
    from psycopg.errors import UniqueViolation

    idle = pg.info.transaction_status == pq.TransactionStatus.IDLE
    ok = False
    try:
        if idle:
            pg.autocommit = True
        with pg.pipeline():
            if idle:
                pg.execute(b"BEGIN", prepare=False)
            pg.execute(_PG_LOCK)
            found = pg.execute(_PG_TAIL).fetchone()
            rows = _linked(found[0] if found else GENESIS, entries)
            with pg.cursor() as cur:
                cur.executemany(_PG_INSERT, [{c: row.get(c) for c in _COLUMNS} for row in rows])
            pg.execute(b"COMMIT", prepare=False)
        ok = True
    except UniqueViolation as exc:  # unique prev_hash: someone appended without taking the lock
        raise _moved(exc) from exc
    finally:
        if not ok and pg.info.transaction_status != pq.TransactionStatus.IDLE:
            pg.rollback()  # releases the tail's lock; the caller's rollback may not reach the driver
        if idle:
            pg.autocommit = False
    return rows


def _uniform(rows: list[dict]) -> list[dict]:
    """executemany needs the same keys in every row: an entry without some field stores NULL, as before."""
    keys = {k for row in rows for k in row}
    return [{k: row.get(k) for k in keys} for row in rows]


def _hold_tail(conn: Connection) -> None:
    """Make this transaction the only one that may append until it ends, before the tail is read.

    PostgreSQL: a transaction-scoped advisory lock (released by COMMIT or ROLLBACK); in READ COMMITTED
    the next statement then sees the tail its previous holder committed. SQLite: the database's write
    lock, which serialises every writer anyway; it must be held *before* the tail is read, or a writer
    that commits in between forks the chain. pysqlite opens a (deferred) transaction only before its
    first INSERT/UPDATE/DELETE, so a connection that has not written yet starts one with BEGIN
    IMMEDIATE (waiting up to the busy timeout for the lock); one that has written holds the lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK_TAIL)
    elif conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    # (another database would rely on the unique prev_hash alone: a race fails instead of forking)


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
