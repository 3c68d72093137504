"""Scratch databases for the benchmarks: a new SQLite file, or a new PostgreSQL database on a server,
dropped when the run ends (a 10M-value store holds ~100 MB)."""

from __future__ import annotations

import uuid
from pathlib import Path


def fresh_database(server: str | None, folder: Path | str, prefix: str = "mt_bench") -> str:
    """A URL of an empty database: SQLite in `folder` when no server is given, else a new PostgreSQL database."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    if not server:
        return f"sqlite:///{Path(folder) / f'{name}.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(server).set(drivername="postgresql+psycopg")
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by fresh_database (SQLite files go with their folder)."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from mobtrack.store.db import get_engine

    get_engine(url).dispose()
    target = make_url(url)
    with create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
