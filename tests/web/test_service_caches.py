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


def test_protected_tables_follow_a_gazetteer_change_by_another_process(store, monkeypatch):
    """Public tables sum leaves up the place hierarchy: a place added to the country (a gazetteer load
    can re-parent sites) must rebuild them, not serve the table built on the old hierarchy."""
    from sqlalchemy import insert, select

    from mobtrack.store.db import get_engine, resolve_url
    from mobtrack.store.schema import location
    from mobtrack.web.services import dtm_v3
    from mobtrack.web.services import figures as service

    built = []
    leaf_figures, cells = service._leaf_figures, dtm_v3._cells
    monkeypatch.setattr(service, "_leaf_figures", lambda *a, **k: built.append("figures") or leaf_figures(*a, **k))
    monkeypatch.setattr(dtm_v3, "_cells", lambda *a, **k: built.append("v3") or cells(*a, **k))
    engine = get_engine(store["db_url"])
    public = catalogue.view_of(ANONYMOUS, OPERATION, "SOM")

    def read():
        with engine.connect() as conn:
            service.figures(conn, public, 1)
            dtm_v3.rows(conn, ANONYMOUS, 1, {"Operation": OPERATION})

    read()
    assert "figures" in built and "v3" in built
    built.clear()
    read()
    assert built == []  # kept
    other = create_engine(resolve_url(store["db_url"]))
    try:
        with other.begin() as conn:
            som = conn.execute(select(location).where(location.c.country_iso3 == "SOM").limit(1)).mappings().one()
            conn.execute(insert(location).values(pcode="SO99", country_iso3="SOM", admin_level=1, name="New region",
                                                 boundary_version_id=som["boundary_version_id"], kind="admin"))
    finally:
        other.dispose()
    read()
    assert "figures" in built and "v3" in built
