"""Concurrent appends (threads and processes, alone and inside callers' transactions) keep one chain."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import select, text

import mobtrack.protect.tables  # noqa: F401  (registers the tables on the shared metadata)
from mobtrack.protect import audit, auditlog
from mobtrack.protect.tables import audit_log

CHILD = """
import sys
from mobtrack.protect import auditlog
from mobtrack.store.db import get_engine
engine = get_engine(sys.argv[1])
for i in range(int(sys.argv[3])):
    auditlog.record(engine, actor=sys.argv[2], action="read", target=f"t{i}")
"""


def _links(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(audit_log.c.prev_hash, audit_log.c.hash)
                                               .order_by(audit_log.c.id))]


def test_threads_and_processes_appending_at_once_make_one_verifiable_chain(engine, db_url):
    per_process, per_thread, threads = 25, 25, 6
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, db_url, f"proc{n}", str(per_process)], env=env,
                                 stderr=subprocess.PIPE, text=True) for n in range(3)]
    errors: list[BaseException] = []

    def appender(n: int) -> None:
        try:
            for i in range(per_thread):
                if i % 2:
                    auditlog.record(engine, actor=f"thread{n}", action="read", target=f"t{i}")
                else:  # inside a caller's transaction that wrote nothing before
                    with engine.begin() as conn:
                        audit.append(conn, user=f"thread{n}", action="publish", target=f"r{i}")
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    workers = [threading.Thread(target=appender, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
    assert not errors, errors
    result = auditlog.verify(engine)
    assert result.ok, result
    assert result.entries == 3 * per_process + threads * per_thread
    links = _links(engine)
    assert all(prev == before for (prev, _), (_, before) in zip(links[1:], links[:-1], strict=True))


def test_an_append_after_the_callers_own_writes_chains_onto_the_newest_entry(engine):
    auditlog.record(engine, actor="a", action="read", target="t")
    with engine.begin() as conn:
        # the caller read the tail and wrote something before appending...
        conn.execute(select(audit_log.c.hash)).all()
        conn.execute(text("CREATE TABLE IF NOT EXISTS scratch (x INTEGER)"))
        conn.execute(text("INSERT INTO scratch VALUES (1)"))
        # ...while another writer appended and committed (on SQLite it waits for this transaction
        # when the caller holds the write lock, so it runs in a thread and is joined after the commit)
        other = threading.Thread(target=auditlog.record, kwargs={"engine": engine, "actor": "b", "action": "read",
                                                                 "target": "t"})
        other.start()
        if engine.dialect.name != "sqlite":
            other.join()
        audit.append(conn, user="c", action="publish", target="r")
    other.join()
    assert auditlog.verify(engine).ok and auditlog.verify(engine).entries == 3


def test_a_rolled_back_append_releases_the_tail(engine):
    with pytest.raises(RuntimeError), engine.begin() as conn:
        audit.append(conn, user="c", action="publish", target="r")
        raise RuntimeError("the change failed")
    done = threading.Thread(target=auditlog.record, kwargs={"engine": engine, "actor": "b", "action": "read",
                                                            "target": "t"})
    done.start()
    done.join(timeout=20)
    assert not done.is_alive(), "the tail stayed locked after a rollback"
    assert [e["actor"] for e in auditlog.entries(engine)] == ["b"] and auditlog.verify(engine).ok


def _entry(actor: str) -> dict:
    return {"at": auditlog.now_iso(), "actor": actor, "organisation": None, "action": "read", "target": "t",
            "purpose": None, "origin": None, "details": None}


def _queue_behind_the_lock(engine, n: int) -> tuple[list[threading.Thread], list]:
    """n threads whose entries wait in the queue while the test holds the chain's lock."""
    outcomes: list = []

    def one(i: int) -> None:
        try:
            outcomes.append(auditlog.append_alone(engine, _entry(f"reader{i}")))
        except RuntimeError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for _ in range(500):
        with auditlog._QUEUE:
            if len(auditlog._PENDING.get(str(engine.url), [])) == n:
                break
        threading.Event().wait(0.01)
    return threads, outcomes


def test_entries_waiting_for_the_lock_are_written_in_one_commit(engine):
    from sqlalchemy import event

    commits = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    with auditlog._CHAIN:
        threads, outcomes = _queue_behind_the_lock(engine, 5)
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 5 and all(isinstance(o, dict) for o in outcomes)
    if engine.dialect.name == "postgresql":
        # written on the driver's connection (no SQLAlchemy commit event): every row has the
        # transaction id of the one transaction that wrote it
        with engine.connect() as conn:
            writers = conn.execute(text(f"SELECT count(DISTINCT xmin::text) FROM {audit_log.name}")).scalar()
        assert writers == 1
    else:
        assert len(commits) == 1
    assert auditlog.verify(engine).entries == 5 and auditlog.verify(engine).ok


def test_when_a_batch_cannot_be_written_every_reader_in_it_is_refused(engine, monkeypatch):
    def broken(prev, entries):  # fails with the tail locked, inside the batch's transaction
        raise OSError("disk full")

    monkeypatch.setattr(auditlog, "_linked", broken)
    with auditlog._CHAIN:
        threads, outcomes = _queue_behind_the_lock(engine, 3)
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 3 and all(isinstance(o, RuntimeError) and "disk full" in str(o) for o in outcomes)
    monkeypatch.undo()
    auditlog.record(engine, actor="after", action="read", target="t")
    assert [e["actor"] for e in auditlog.entries(engine)] == ["after"]


def _psycopg_only(engine) -> None:
    if not (engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"):
        pytest.skip("a request's open transaction is committed with its entry only through psycopg")


def test_an_open_transaction_is_refused_unless_it_may_be_committed_with_the_entry(engine):
    with engine.connect() as conn:
        conn.execute(select(audit_log.c.id)).all()
        with pytest.raises(RuntimeError, match="without an open transaction"):
            auditlog.append_alone(conn, _entry("reader"))


def test_a_requests_read_transaction_is_committed_with_its_entry(engine):
    from psycopg.pq import TransactionStatus

    _psycopg_only(engine)
    with engine.connect() as conn:
        conn.execute(select(audit_log.c.id)).all()  # the request's reads so far
        auditlog.append_alone(conn, _entry("reader"), commit_open=True)
        driver = conn.connection.dbapi_connection
        assert driver.info.transaction_status == TransactionStatus.IDLE and not driver.autocommit
        # committed: another connection sees it while this one is still checked out
        assert [e["actor"] for e in auditlog.entries(engine)] == ["reader"]
        conn.execute(select(audit_log.c.id)).all()  # and the connection reads on afterwards
        conn.commit()
    assert auditlog.verify(engine).ok


def test_a_failed_entry_rolls_the_requests_transaction_back_and_releases_the_tail(engine, monkeypatch):
    from psycopg.pq import TransactionStatus

    _psycopg_only(engine)

    def broken(prev, entries):
        raise OSError("disk full")

    with engine.connect() as conn:
        conn.execute(select(audit_log.c.id)).all()
        monkeypatch.setattr(auditlog, "_linked", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            auditlog.append_alone(conn, _entry("reader"), commit_open=True)
        monkeypatch.undo()
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE
    done = threading.Thread(target=auditlog.record, kwargs={"engine": engine, "actor": "after", "action": "read",
                                                            "target": "t"})
    done.start()
    done.join(timeout=20)
    assert not done.is_alive(), "the tail stayed locked after a failed entry"
    assert [e["actor"] for e in auditlog.entries(engine)] == ["after"]
