"""resolve_places on the bundled OCHA list: codes, rewritten codes, names, reviews, source-defined places."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import func, select

from mobtrack import gazetteer
from mobtrack.model.records import conform
from mobtrack.store.schema import boundary_version, location, match_review


def _records(**columns) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    columns.setdefault("source_row", list(range(2, n + 2)))
    columns.setdefault("value", [1] * n)
    return conform(pl.DataFrame(columns).with_columns(pl.lit("TCD").alias("country_iso3")))


def _resolve(engine, records, iso3="TCD", day=dt.date(2020, 1, 1)):
    with engine.begin() as conn:
        return gazetteer.resolve_places(conn, records, country_iso3=iso3, reporting_date=day,
                                        source_file_id=None, file_name="in.csv")


@pytest.fixture
def loaded(engine):
    with engine.begin() as conn:
        gazetteer.load_bundled(conn, ["TCD"])
    return engine


def test_load_bundled_is_idempotent(engine):
    with engine.begin() as conn:
        first = gazetteer.load_bundled(conn)
        second = gazetteer.load_bundled(conn)
        countries = conn.execute(select(func.count()).select_from(boundary_version)).scalar()
        tcd = conn.execute(select(location.c.name, location.c.admin_level).where(location.c.pcode == "TCD")).one()
    assert first > 32_000 and second == 0
    assert countries > 150
    assert tcd.admin_level == 0


def test_missing_gazetteers_are_loaded_together_and_only_once(engine):
    with engine.begin() as conn:
        gazetteer.load_bundled(conn, ["TCD"])
        gazetteer.load_missing(conn, ["TCD", "ner", "NGA", "XXX", None])  # XXX: not in the bundled list
        names = conn.execute(select(boundary_version.c.country_iso3, boundary_version.c.loaded_at)).all()
        gazetteer.load_missing(conn, ["NER", "NGA"])
        again = conn.execute(select(func.count()).select_from(boundary_version)).scalar()
    assert sorted(c for c, _ in names) == ["NER", "NGA", "TCD"] and again == 3
    assert len({t for c, t in names if c != "TCD"}) == 1  # one load for both


def test_codes_exact_and_rewritten(loaded):
    recs = _records(admin_level=[1, 1, 2, 0], adm1_pcode=["TD07", "TCD07", "TD07", None],
                    adm2_pcode=[None, None, "TCD0703", None])
    out = _resolve(loaded, recs)
    r = out.records
    assert r["location_pcode"].to_list() == ["TD07", "TD07", "TD0703", "TCD"]
    assert r["match_method"].to_list() == ["exact-code", "normalised-code", "normalised-code", "exact-code"]
    assert r["location_id"].null_count() == 0
    rules = sorted((i.rule, i.row, i.column) for i in out.issues)
    assert rules == [("pcode-normalised", 3, "adm1_pcode"), ("pcode-normalised", 4, "adm2_pcode")]
    assert out.issues[0].message.startswith("PCode length")


def test_names_within_parent(loaded):
    recs = _records(admin_level=[2, 2, 1], adm1_name=["Lac", "LAC", "Chari Baguirmi"], adm2_name=["Mamdi", "mamdi", None])
    r = _resolve(loaded, recs).records
    assert r["location_pcode"].to_list() == ["TD0701", "TD0701", "TD03"]
    assert r["match_method"].to_list() == ["exact-name", "normalised-name", "normalised-name"]


def test_name_code_disagreement_is_reported(loaded):
    recs = _records(admin_level=[2], adm1_pcode=["TD07"], adm2_pcode=["TD0703"], adm2_name=["Wayi"])
    out = _resolve(loaded, recs)
    assert out.records["location_pcode"][0] == "TD0703"
    (issue,) = out.issues
    assert issue.rule == "pcode-name-mismatch" and "TD0702" in issue.message


def test_unknown_places_go_to_review_not_to_a_guess(loaded):
    recs = _records(admin_level=[1, 1], adm1_pcode=["TD99", None], adm1_name=[None, "Atlantis"])
    out = _resolve(loaded, recs)
    assert out.records["location_id"].to_list() == [None, None]
    assert out.records["match_status"].to_list() == ["unmatched", "unmatched"]
    assert {i.rule for i in out.issues} == {"unknown-pcode", "place-needs-review"}
    assert all(str(i.severity) == "error" for i in out.issues)
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(match_review)).scalar() == 2


def test_source_defined_places_are_created_once(loaded):
    recs = _records(admin_level=[3, 5, 5], adm1_pcode=["TD07"] * 3, adm2_pcode=["TD0701", "TD0701", "TD0701"],
                    adm3_pcode=["TD070101", None, None], site_name=[None, "Camp A", "Camp A"])
    first = _resolve(loaded, recs).records
    second = _resolve(loaded, recs).records
    assert first["location_id"].to_list() == second["location_id"].to_list()
    assert first["location_pcode"].to_list() == ["TD070101", "TD0701~campa", "TD0701~campa"]
    assert set(first["match_method"]) == {"source"}
    with loaded.connect() as conn:
        n = conn.execute(select(func.count()).select_from(location).join(boundary_version).where(
            boundary_version.c.name == "source-defined")).scalar()
    assert n == 2


def test_rolled_back_source_places_leave_nothing(loaded):
    recs = _records(admin_level=[5], adm2_pcode=["TD0701"], site_code=["S-1"], site_name=["Camp B"])
    with loaded.connect() as conn:
        trans = conn.begin()
        gazetteer.resolve_places(conn, recs, country_iso3="TCD", reporting_date=None, source_file_id=None,
                                 file_name="x")
        trans.rollback()
    out = _resolve(loaded, recs).records
    with loaded.connect() as conn:
        stored = conn.execute(select(location.c.id).where(location.c.pcode == "S-1")).scalar()
    assert out["location_id"][0] == stored


def test_swapped_name_and_code_columns(loaded):
    recs = _records(admin_level=[2, 2, 2], adm1_pcode=["TD07"] * 3, adm2_pcode=["Mamdi", "Wayi", "Kaya"],
                    adm2_name=["TD0701", "TD0702", "TD0703"])
    out = _resolve(loaded, recs)
    assert out.records["location_pcode"].to_list() == ["TD0701", "TD0702", "TD0703"]
    assert [i.rule for i in out.issues] == ["swapped-name-code"]


def test_resolves_without_initialised_gazetteer(engine):
    recs = _records(admin_level=[1], adm1_pcode=["TD07"])
    assert _resolve(engine, recs).records["location_pcode"][0] == "TD07"


def test_empty_batch(loaded):
    out = _resolve(loaded, _records(admin_level=[1]).head(0))
    assert out.records.height == 0 and "location_id" in out.records.columns and out.issues == []
