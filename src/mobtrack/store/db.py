"""Connecting to the store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by setting.

The URL comes from, in order: the `--db` option, `MOBTRACK_DATABASE_URL`, or
`sqlite:///mobtrack.db` in the current directory. A bare file path is accepted as SQLite.
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DisconnectionError

DEFAULT_URL = "sqlite:///mobtrack.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get("MOBTRACK_DATABASE_URL") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser()}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets the web server read while an import writes; foreign keys are off by default in SQLite.
    # synchronous=FULL: a commit is on disk before it returns, as on PostgreSQL. With NORMAL the last
    # commits (an audit entry for a read already served, a publish) could vanish in a power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# Connections kept open per process. A web worker serves up to 40 requests at once (anyio's thread
# limit), each holding one connection; with fewer kept, every request past the pool's size opened a new
# connection (a new PostgreSQL backend, a fork) and closed it on return. 20 kept + 10 overflow is the
# same ceiling per process as before (30), so `serve --workers N` needs no more server connections.
POOL = {"pool_size": 20, "max_overflow": 10}
PING_AFTER_IDLE = 1.0  # seconds a pooled connection may sit unused before it is checked on checkout


def _checkin(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect, dbapi_connection, record) -> None:
    """Pessimistic disconnect handling, as pool_pre_ping, but only for a connection left idle a while.

    pool_pre_ping sends a round trip before every checkout: under load (20 requests at once) that is one
    more statement per request for connections used a few milliseconds earlier. A connection is lost
    when the server restarts or drops idle sessions; one used within the last second is not pinged, and
    if the server went away in that second the request fails once and SQLAlchemy invalidates the pool.
    """
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE:
        return  # just opened, or in use a moment ago
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:  # any failure: drop this connection, the pool checks out another
        raise DisconnectionError(f"pooled connection lost while idle: {exc}") from exc


@cache
def get_engine(url: str | None = None) -> Engine:
    url = resolve_url(url)
    if url.startswith("sqlite"):
        # As many pooled connections as PostgreSQL's: a web worker serving 20 requests at once would
        # otherwise open and close overflow connections (and run the pragmas) on every request.
        extra = POOL if url not in ("sqlite://", "sqlite:///:memory:") else {}
        engine = create_engine(url, **extra)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, **POOL)
        event.listen(engine, "checkin", _checkin)
        dialect = engine.dialect
        event.listen(engine, "checkout", lambda conn, record, _proxy: _ping_if_idle(dialect, conn, record))
    return engine


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Create or migrate the schema to the newest version (what `mobtrack init` does)."""
    from alembic import command

    url = resolve_url(url)
    engine = get_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")


def is_initialised(url: str | None = None) -> bool:
    return inspect(get_engine(url)).has_table("alembic_version")


def ensure_schema(url: str | None = None) -> Engine:
    """Every command calls this, so a first `mobtrack import` on a new machine just works."""
    if not is_initialised(url):
        upgrade(url)
    return get_engine(url)
