"""One store loaded with the real statistics, shared by the stats shared-data tests (loading takes
seconds; doing it per test would take minutes). SQLite, or PostgreSQL when MOBTRACK_TEST_DATABASE_URL says so."""

from __future__ import annotations

import os

import pytest

STATS_FILES = [
    "undesa/undesa_stocks.csv.gz",
    "unhcr/population.csv.gz",
    "unhcr/idmc.csv",
    "idmc/idmc_stocks.csv",
    "idmc/idmc_flows.csv",
]


@pytest.fixture(scope="session")
def stats_db_url(tmp_path_factory):
    base = os.environ.get("MOBTRACK_TEST_DATABASE_URL", "")
    if base.startswith("postgres"):
        from tests.conftest import _postgres_database

        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('stats') / 'stats.db'}"


@pytest.fixture(scope="session")
def stats_store(shared_data, stats_db_url):
    """(engine, {relative path: LoadResult}) with STATS_FILES loaded."""
    from mobtrack.stats.load import load_file
    from mobtrack.store.db import get_engine, upgrade

    upgrade(stats_db_url)
    engine = get_engine(stats_db_url)
    results = {f: load_file(engine, shared_data / "stats" / f) for f in STATS_FILES}
    yield engine, results
    engine.dispose()
