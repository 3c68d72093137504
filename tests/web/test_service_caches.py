"""What the service layer keeps between requests follows the store at once, whoever changed it."""

from __future__ import annotations

from sqlalchemy import create_engine, update

from mobtrack.store.publishing import publish
from mobtrack.store.schema import round_
from mobtrack.web.services import catalogue
from mobtrack.web.services.principal import ANONYMOUS
from tests.web.conftest import OPERATION


def test_round_lists_follow_publishing_by_another_process_without_delay(store):
    from mobtrack.store.db import get_engine, resolve_url

    engine = get_engine(store["db_url"])
    public = catalogue.view_of(ANONYMOUS, OPERATION, "SOM")
    with engine.connect() as conn:
        assert catalogue.rounds(conn, public)["round"].to_list() == [1]
        assert catalogue.rounds(conn, public)["round"].to_list() == [1]  # served from the cache
    # another process: its own engine, no shared in-memory state
    other = create_engine(resolve_url(store["db_url"]))
    try:
        with other.begin() as conn:
            publish(conn, OPERATION, 2)
        with engine.connect() as conn:
            assert catalogue.rounds(conn, public)["round"].to_list() == [1, 2]
        with other.begin() as conn:  # withdrawn again: the public must stop seeing it at once
            conn.execute(update(round_).where(round_.c.number == 2).values(status="validated", published_at=None))
        with engine.connect() as conn:
            assert catalogue.rounds(conn, public)["round"].to_list() == [1]
    finally:
        other.dispose()
