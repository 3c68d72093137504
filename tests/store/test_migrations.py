"""The Alembic migrations build exactly the schema the code defines, on SQLite and PostgreSQL."""

import pytest
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


def test_the_schema_heads_read_from_the_files_are_alembics(db_url):
    from alembic.script import ScriptDirectory

    from mobtrack.store.db import alembic_config, schema_heads

    assert schema_heads() == frozenset(ScriptDirectory.from_config(alembic_config(db_url)).get_heads())


def test_a_store_made_by_an_earlier_release_is_brought_up_to_date_on_first_use(db_url):
    from alembic import command
    from sqlalchemy import inspect

    from mobtrack.store.db import alembic_config, ensure_schema, get_engine, schema_heads, schema_revisions

    # as a release without the web tables left it
    with get_engine(db_url).begin() as conn:
        cfg = alembic_config(db_url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002_protect")
        command.upgrade(cfg, "0003_stats")
    assert not inspect(get_engine(db_url)).has_table("web_user")

    engine = ensure_schema(db_url)
    assert schema_revisions(db_url) == schema_heads()
    assert inspect(engine).has_table("web_user")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), load_all_tables()) == []


def test_a_store_from_a_newer_release_is_refused_with_a_clear_error(db_url, monkeypatch, capsys):
    from sqlalchemy import text

    from mobtrack.cli import main
    from mobtrack.store.db import SchemaTooNew, ensure_schema, get_engine

    ensure_schema(db_url)
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0099_future')"))
    with pytest.raises(SchemaTooNew, match="0099_future.*newer release"):
        ensure_schema(db_url)

    monkeypatch.setattr("sys.argv", ["mobtrack", "figures", "--db", db_url, "--country", "SOM", "--level", "1"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert "0099_future" in capsys.readouterr().err


def test_block_payloads_are_compressed_with_lz4_where_postgresql_can(engine):
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite stores a payload as it is given")
    with engine.connect() as conn:
        lz4 = conn.execute(text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                "WHERE name = 'default_toast_compression'")).scalar()
        method = conn.execute(text("SELECT attcompression FROM pg_attribute WHERE attrelid = 'block'::regclass "
                                   "AND attname = 'payload'")).scalar()
    assert method == ("l" if lz4 else "")
