"""Migration 0003_stats creates exactly the tables mobtrack.stats.tables defines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import mobtrack.stats.tables as stats_tables  # registers the tables on the shared metadata
from mobtrack.store.schema import metadata

OURS = {t.name for t in stats_tables.STATS_TABLES}


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff  # modify_* diffs come as lists of tuples
    kind, *rest = item
    if kind.endswith("_table"):
        return rest[0].name
    if kind.endswith(("_index", "_constraint", "_fk")):
        return rest[0].table.name
    return rest[1]  # add_column/remove_column/modify_*: (schema, table, ...)


def test_migration_matches_tables(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if _table_of(d) in OURS] == []
    assert OURS <= set(inspect(engine).get_table_names())
