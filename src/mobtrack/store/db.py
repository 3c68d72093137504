"""Connecting to the store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by setting.

The URL comes from, in order: the `--db` option, `MOBTRACK_DATABASE_URL`, or
`sqlite:///mobtrack.db` in the current directory. A bare file path is accepted as SQLite.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect

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
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@cache
def get_engine(url: str | None = None) -> Engine:
    url = resolve_url(url)
    if url.startswith("sqlite"):
        # As many pooled connections as PostgreSQL's: a web worker serving 20 requests at once would
        # otherwise open and close overflow connections (and run the pragmas) on every request.
        extra = {"pool_size": 10, "max_overflow": 20} if url not in ("sqlite://", "sqlite:///:memory:") else {}
        engine = create_engine(url, **extra)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
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
