"""Review items, decisions and their reuse by later imports."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select

from mobtrack import gazetteer
from mobtrack.gazetteer.aliases import ReviewError, decide, open_reviews
from mobtrack.model.records import conform
from mobtrack.store.schema import place_alias


def _resolve(engine, **columns):
    n = len(next(iter(columns.values())))
    records = conform(pl.DataFrame({**columns, "source_row": list(range(2, n + 2)), "value": [1] * n})
                      .with_columns(pl.lit("TCD").alias("country_iso3")))
    with engine.begin() as conn:
        return gazetteer.resolve_places(conn, records, country_iso3="TCD", reporting_date=None, source_file_id=None,
                                        file_name="in.csv")


@pytest.fixture
def loaded(engine):
    with engine.begin() as conn:
        gazetteer.load_bundled(conn, ["TCD"])
    return engine


def test_review_once_then_reused(loaded):
    first = _resolve(loaded, admin_level=[2, 2], adm1_pcode=["TD07", "TD07"], adm2_name=["Mamdi Nord", "Mamdi Nord"])
    assert first.records["location_id"].to_list() == [None, None]
    assert len(first.reviews) == 1  # one question for two rows
    with loaded.connect() as conn:
        (item,) = open_reviews(conn, "TCD")
    assert item["input_name"] == "Mamdi Nord" and item["parent_pcode"] == "TD07"
    with loaded.begin() as conn:
        result = decide(conn, item["id"], "TD0701", decided_by="tester")
        stored = conn.execute(select(place_alias.c.name_key, place_alias.c.pcode)).all()
    assert result["status"] == "accepted" and stored == [("mamdinorth", "TD0701")]
    again = _resolve(loaded, admin_level=[2], adm1_pcode=["TD07"], adm2_name=["MAMDI-NORD"])
    assert again.records["location_pcode"][0] == "TD0701"
    assert again.records["match_method"][0] == "alias"
    assert again.issues == [] and again.reviews == []


def test_rejected_name_stays_unmatched_without_new_questions(loaded):
    _resolve(loaded, admin_level=[1], adm1_name=["Atlantis"])
    with loaded.connect() as conn:
        (item,) = open_reviews(conn, "TCD")
    with loaded.begin() as conn:
        assert decide(conn, item["id"], None)["status"] == "rejected"
    again = _resolve(loaded, admin_level=[1], adm1_name=["Atlantis"])
    assert again.records["match_status"][0] == "unmatched" and again.reviews == []


def test_bare_code_decision(loaded):
    _resolve(loaded, admin_level=[1], adm1_pcode=["TD99"])
    with loaded.connect() as conn:
        (item,) = open_reviews(conn, "TCD")
    with loaded.begin() as conn:
        decide(conn, item["id"], "TD07")
    again = _resolve(loaded, admin_level=[1], adm1_pcode=["TD99"])
    assert again.records["location_pcode"][0] == "TD07" and again.records["match_method"][0] == "alias"


def test_decision_must_name_a_known_unit(loaded):
    _resolve(loaded, admin_level=[1], adm1_name=["Atlantis"])
    with loaded.connect() as conn:
        (item,) = open_reviews(conn, "TCD")
    with loaded.begin() as conn, pytest.raises(ReviewError, match="not an admin1 p-code"):
        decide(conn, item["id"], "TD0701")
    with loaded.begin() as conn, pytest.raises(ReviewError, match="no review item"):
        decide(conn, 999_999, "TD07")


def test_decision_is_seen_inside_the_same_transaction(loaded):
    records = conform(pl.DataFrame({"admin_level": [1], "adm1_name": ["Lac Nord"], "source_row": [2], "value": [1]})
                      .with_columns(pl.lit("TCD").alias("country_iso3")))
    with loaded.begin() as conn:
        first = gazetteer.resolve_places(conn, records, country_iso3="TCD", reporting_date=None, source_file_id=None,
                                         file_name="f")
        assert first.records["location_id"][0] is None
        (item,) = open_reviews(conn, "TCD")
        decide(conn, item["id"], "TD07")
        again = gazetteer.resolve_places(conn, records, country_iso3="TCD", reporting_date=None, source_file_id=None,
                                         file_name="f")
    assert again.records["location_pcode"][0] == "TD07" and again.records["match_method"][0] == "alias"
