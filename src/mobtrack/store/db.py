"""Connecting to the store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by setting.

The URL comes from, in order: the `--db` option, `MOBTRACK_DATABASE_URL`, or
`sqlite:///mobtrack.db` in the current directory. A bare file path is accepted as SQLite.
"""

from __future__ import annotations

import os
import re
import time
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
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


class SchemaTooNew(RuntimeError):
    """The store was written by a newer mobtrack: running older code on it could corrupt it."""


_REVISION = re.compile(r"""^(down_revision|revision)\s*=\s*['"]?([\w.-]+|None)['"]?""", re.M)


@cache
def _migrations() -> dict[str, str]:
    """Each migration's revision and the one it follows, read from the files rather than through Alembic:
    importing Alembic costs a few hundred milliseconds and every command asks this once.
    tests/store/test_migrations.py checks that the two agree."""
    found = (dict(_REVISION.findall(p.read_text(encoding="utf-8"))) for p in (MIGRATIONS / "versions").glob("*.py"))
    return {f["revision"]: f.get("down_revision", "None") for f in found}


def schema_heads() -> frozenset[str]:
    """The newest schema revisions this code knows (the migrations branch, so there may be several)."""
    return frozenset(_migrations()) - frozenset(_migrations().values())


def schema_revisions(url: str | None = None) -> frozenset[str]:
    """The revisions a store is at; empty for a new database."""
    engine = get_engine(url)
    if not is_initialised(url):
        return frozenset()
    with engine.connect() as conn:
        return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def ensure_schema(url: str | None = None) -> Engine:
    """Every command calls this: a new store gets the schema, an older one is brought up to date.

    So a first `mobtrack import` on a new machine just works, and after upgrading mobtrack a store made
    by the earlier release gains the new tables on first use instead of failing on a missing one.
    Migrations only add, so this is safe to do unasked; a store from a newer release is refused.
    """
    current = schema_revisions(url)
    if current == schema_heads():
        return get_engine(url)
    unknown = current - _migrations().keys()
    if unknown:
        raise SchemaTooNew(
            f"the database {resolve_url(url)} is at schema revision {', '.join(sorted(unknown))}, "
            "which this mobtrack does not know: it was written by a newer release; upgrade mobtrack to use it"
        )
    upgrade(url)
    return get_engine(url)
