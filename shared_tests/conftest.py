"""The suite that reads real data from ../shared/data (which may never be committed here).

CI sets MOBTRACK_REQUIRE_SHARED=1 so that missing data fails instead of skipping.
MOBTRACK_SHARED_DATA overrides where the data is looked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The same database fixtures as tests/ (SQLite, or PostgreSQL when MOBTRACK_TEST_DATABASE_URL says so).
from tests.conftest import db_url, engine, module_db_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent



def _shared_data() -> Path:
    return Path(os.environ.get("MOBTRACK_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _shared_data()
    if not path.is_dir():
        if os.environ.get("MOBTRACK_REQUIRE_SHARED"):
            pytest.fail(f"shared data not found at {path}")
        pytest.skip(f"shared data not found at {path}")
    return path


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.shared)
