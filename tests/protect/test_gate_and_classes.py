from __future__ import annotations

import polars as pl
import pytest

from mobtrack.protect import FieldPolicy, NotPublic, Sensitivity, TableSpec, public_records, public_table
from mobtrack.protect.classes import personal_kind, strictest


@pytest.mark.parametrize("column,kind", [
    ("full_name", "name"), ("HoH Name", "name"), ("respondent_name", "name"), ("phone_number", "phone"),
    ("Mobile", "phone"), ("national_id_number", "id_number"), ("passport", "id_number"),
    ("hh_gps_latitude", "household_gps"), ("_m1650_loc_gps_coords_latitude", "household_gps"),
    ("email", "email"),
])
def test_personal_columns_are_recognised_by_name(column, kind):
    assert personal_kind(column) == kind


@pytest.mark.parametrize("column", ["adm2_name", "site_name", "value", "population_group", "latitude", "reason"])
def test_ordinary_columns_are_not_personal(column):
    assert personal_kind(column) is None


def test_strictest_class_wins_and_unknown_is_sensitive():
    assert strictest("public", "restricted") == Sensitivity.RESTRICTED
    assert Sensitivity.parse("Public") == Sensitivity.PUBLIC
    assert Sensitivity.parse("whatever") == Sensitivity.SENSITIVE


def test_public_records_drop_personal_fields_and_round_coordinates():
    sites = pl.DataFrame({"site_name": ["Camp A"], "latitude": [-13.98765], "longitude": [33.78543],
                          "focal_point_phone": ["+265"], "hh_gps_lat": [-13.9]})
    out, report = public_records(sites)
    assert out.columns == ["site_name", "latitude", "longitude"]
    assert out["latitude"][0] == -13.99 and out["longitude"][0] == 33.79
    assert set(report["dropped"]) == {"focal_point_phone", "hh_gps_lat"}
    out3, _ = public_records(sites, policy=FieldPolicy(coordinate_decimals=1))
    assert out3["latitude"][0] == -14.0
    with pytest.raises(NotPublic):
        public_records(sites, sensitivity="restricted")


def test_public_table_suppresses_and_describes_its_protection():
    frame = pl.DataFrame({"adm1": ["A", "A", "B"], "adm2": ["A1", "A2", "B1"], "value": [4, 50, 60]})
    result = public_table(frame, TableSpec(hierarchy=["adm1", "adm2"]))
    assert result.table.filter(pl.col("adm2") == "A1")["value"][0] is None
    assert result.protection["method"] == "small_cell_suppression" and result.protection["threshold"] == 10
    with pytest.raises(NotPublic):
        public_table(frame, TableSpec(hierarchy=["adm1", "adm2"]), sensitivity="sensitive")
    named = frame.rename({"adm2": "respondent_name"})
    with pytest.raises(NotPublic, match="personal"):
        public_table(named, TableSpec(hierarchy=["adm1", "respondent_name"]))


def test_public_table_with_dp_reads_the_stored_release(engine):
    from mobtrack.protect import ledger

    frame = pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A2"], "round": [1, 1], "value": [4, 50]})
    ledger.set_budget(engine, "op:1", 2.0, by="ana")
    dp = {"dataset": "op:1", "places": frame.select("adm1", "adm2"), "epsilon": 1.0, "by": "ana"}
    spec = TableSpec(hierarchy=["adm1", "adm2"], round="round")
    one = public_table(frame, spec, dp=dp, engine=engine)
    two = public_table(frame, spec, dp=dp, engine=engine)
    assert one.table.equals(two.table) and two.protection["reused"]
    assert one.protection["epsilon"] == 1.0 and one.protection["delta"] == 0.0
    assert one.table.height == 2 and one.table["value"].null_count() == 0


def test_classification_is_stored_and_the_strictest_wins(engine):
    from mobtrack.protect import auditlog
    from mobtrack.protect.classes import class_of, classify

    classify(engine, "op:1", "public", by="ana")
    classify(engine, "op:1/field:hh_gps", "sensitive", by="ana")
    assert class_of(engine, "op:1", "op:1/round:2", default=Sensitivity.PUBLIC) == Sensitivity.PUBLIC
    assert class_of(engine, "op:1", "op:1/field:hh_gps", default=Sensitivity.PUBLIC) == Sensitivity.SENSITIVE
    assert class_of(engine, "op:9", default=Sensitivity.RESTRICTED) == Sensitivity.RESTRICTED
    with pytest.raises(ValueError):
        classify(engine, "op:1", "secret", by="ana")
    assert [e["action"] for e in auditlog.entries(engine)] == ["classify", "classify"]
