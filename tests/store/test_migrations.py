"""The Alembic migrations build exactly the schema the code defines, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mobtrack.store.schema import load_all_tables


def test_migrations_match_the_tables_the_code_defines(engine):
    metadata = load_all_tables()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrading_twice_changes_nothing(db_url, engine):
    from mobtrack.store.db import upgrade

    upgrade(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), load_all_tables()) == []
