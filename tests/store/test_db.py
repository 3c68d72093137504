"""How mobtrack opens its embedded SQLite store."""

from __future__ import annotations

from sqlalchemy import text

from mobtrack.store.db import get_engine


def test_sqlite_commits_are_durable_and_readers_do_not_block_writers(tmp_path):
    # an audit entry is committed before the read it records is served: it must survive a power loss
    with get_engine(f"sqlite:///{tmp_path / 'm.db'}").connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
