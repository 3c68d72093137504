"""Fixtures shared by every test: a fresh database on SQLite (default) or PostgreSQL.

Set MOBTRACK_TEST_DATABASE_URL=postgresql://127.0.0.1/postgres to run the suite against
PostgreSQL: each test then gets its own freshly created database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text


def _postgres_database(base_url: str):
    from sqlalchemy.engine import make_url

    url = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"mt_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        from mobtrack.store.db import get_engine

        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _database(folder):
    base = os.environ.get("MOBTRACK_TEST_DATABASE_URL", "")
    if base.startswith("postgres"):
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{folder / 'test.db'}"
        from mobtrack.store.db import get_engine

        get_engine.cache_clear()


@pytest.fixture
def db_url(tmp_path):
    """URL of an empty database (no schema yet)."""
    yield from _database(tmp_path)


@pytest.fixture(scope="module")
def module_db_url(tmp_path_factory):
    """An empty database shared by the tests of one module (for expensive imports done once)."""
    yield from _database(tmp_path_factory.mktemp("db"))


@pytest.fixture
def engine(db_url):
    """An engine on a database migrated to the newest schema."""
    from mobtrack.store.db import get_engine, upgrade

    upgrade(db_url)
    eng = get_engine(db_url)
    yield eng
    eng.dispose()
