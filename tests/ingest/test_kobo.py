"""DTM data-dictionary and KoboToolbox exports, on made-up villages."""

from __future__ import annotations

import polars as pl
import pytest
from tests.ingest.synthetic import read_all, write_csv

from mobtrack.validate.issue import ImportRejected

HEADER = ["m2682_meta_date_auto", "m1855_meta_assessment_date", "m1470_meta_enum_name", "enumerator_phone",
          "m0489_meta_survey_round", "m0303_meta_adm1_pcode", "m0304_meta_adm2_pcode", "m0305_meta_adm3_pcode",
          "m0306_meta_adm4_pcode", "admin_4_name_txt_calc", "m0342_loc_site_type_multiple",
          "m1537_loc_num_arrivals_hh", "m1536_loc_num_arrival_ind_period", "m0310_loc_num_idp_ind",
          "m2968_loc_num_men_idp", "m2969_loc_num_women_idp", "m2970_loc_num_children_idp",
          "m0847_loc_num_return_idp_hh", "m0851_loc_num_return_idp_ind", "_m2696_meta_start_gps_latitude",
          "_m2696_meta_start_gps_longitude", "_m1650_loc_gps_coords_latitude", "_m1650_loc_gps_coords_longitude",
          "remarks", "_uuid"]


def village(date, code, name, hh, ind, men, women, children, ret_hh, ret_ind, *, lat=-15.5, lon=35.1):
    return ["2024-12-01", date, "Jane Doe", "+265 999 000 000", "B2_01", "MW3", "MW301", "MW30101", code, name,
            "camp", hh, ind, ind, men, women, children, ret_hh, ret_ind, -15.9, 35.9, lat, lon,
            "the chief's phone is 0999", "0c1f"]


def kobo_file(tmp_path, rows=None):
    rows = rows or [
        village("2024-11-12", "30101001001", "Matuwi", 3, 15, 5, 6, 4, "NULL", "NULL"),
        village("2024-12-06", "30101001002", "Chisawa", 49, 176, 60, 70, 46, 10, 50),
    ]
    return write_csv(tmp_path / "data_raw_kobo.csv", [HEADER, *rows], encoding="utf-8-sig")


def test_villages_become_site_records_with_pcodes(tmp_path):
    records, issues, notes, _ = read_all(kobo_file(tmp_path))
    assert set(records["admin_level"]) == {5}
    assert set(records["site_code"]) == {"30101001001", "30101001002"}
    assert set(records["adm3_pcode"]) == {"MW30101"}
    assert set(records["country_iso3"]) == {"MWI"}  # from the p-codes: the export has no country column
    assert set(records["round_number"]) == {1} and set(records["assessment_type"]) == {"BA"}
    totals = records.filter(pl.col("role") == "total").group_by("population_group", "unit").agg(pl.col("value").sum())
    assert dict(((g, u), v) for g, u, v in totals.iter_rows()) == {
        ("idps", "households"): 52, ("idps", "individuals"): 191,
        ("returnees_internal", "households"): 10, ("returnees_internal", "individuals"): 50,
    }
    breakdown = records.filter(pl.col("role") == "breakdown")
    assert breakdown.filter((pl.col("sex") == "female") & (pl.col("age_band") == "adult"))["value"].sum() == 76
    assert breakdown.filter(pl.col("age_band") == "children")["value"].sum() == 50
    # men, women and children are one breakdown by sex x age: the children are of both sexes
    assert set(breakdown.filter(pl.col("age_band") == "children")["sex"]) == {"all"}
    assert str(records["reporting_date"][0]) == "2024-12-06" and str(records["period_start"][0]) == "2024-11-12"
    assert issues == []  # "NULL" is how the export writes an unanswered question


def test_personal_fields_never_reach_records(tmp_path):
    records, _, notes, _ = read_all(kobo_file(tmp_path))
    # the village's coordinates are kept, the enumerator's position is not
    assert set(records["latitude"]) == {-15.5} and set(records["longitude"]) == {35.1}
    text = " ".join(str(v) for row in records.iter_rows() for v in row)
    for secret in ("+265", "0999", "Jane", "0c1f", "-15.9", "35.9"):
        assert secret not in text
    left_out = " ".join(n for n in notes if "left out" in n)
    assert "m1470_meta_enum_name" in left_out and "enumerator_phone" in left_out and "remarks" in left_out and "_m2696_meta_start_gps_latitude" in left_out


def test_arrivals_are_not_counted_twice(tmp_path):
    records, _, notes, _ = read_all(kobo_file(tmp_path))
    assert "m1536_loc_num_arrival_ind_period" not in set(records["source_column"])
    assert any("same figure as m0310_loc_num_idp_ind" in n for n in notes)


def test_bad_counts_keep_their_text_row_and_variable(tmp_path):
    rows = [village("2024-11-12", "30101001001", "Matuwi", 3, "fifteen", 5, 6, 4, 1, 2)]
    records, issues, _, _ = read_all(kobo_file(tmp_path, rows))
    bad = records.filter(pl.col("raw_value").is_not_null())
    assert bad.select("source_row", "source_column", "raw_value", "value").rows() == [
        (2, "m0310_loc_num_idp_ind", "fifteen", None)]


def test_export_without_count_variables_is_refused(tmp_path):
    path = write_csv(tmp_path / "k.csv", [["m0303_meta_adm1_pcode", "m0304_meta_adm2_pcode", "m0305_meta_adm3_pcode"],
                                          ["MW3", "MW301", "MW30101"]])
    with pytest.raises(ImportRejected, match="no count variable"):
        read_all(path)


def test_kobo_workbook_export_is_recognised_and_read(tmp_path):
    from tests.ingest.synthetic import write_xlsx

    rows = [village("2024-11-12", "30101001001", "Matuwi", 3, 15, 5, 6, 4, 1, 2)]
    path = write_xlsx(tmp_path / "export.xlsx", {"DTM B2": [HEADER, *rows]})
    records, _, notes, batches = read_all(path)  # sniffed as dtm-kobo, not hxl
    assert batches[0].sheet == "DTM B2"
    assert records.filter((pl.col("role") == "total") & (pl.col("unit") == "individuals")
                          & (pl.col("population_group") == "idps"))["value"].to_list() == [15]
    assert set(records["source_row"]) == {2}


def test_group_paths_in_column_names(tmp_path):
    header = ["grp_meta/" + h if h.startswith("m0") else h for h in HEADER]
    path = write_csv(tmp_path / "k.csv", [header, village("2024-11-12", "30101001001", "Matuwi", 3, 15, 5, 6, 4, 1, 2)])
    records, _, _, _ = read_all(path)
    assert set(records["adm3_pcode"]) == {"MW30101"} and records["value"].sum() > 0


def test_a_mistyped_year_does_not_stretch_the_round(tmp_path):
    rows = [
        village("2024-11-12", "30101001001", "Matuwi", 3, 15, 5, 6, 4, 1, 2),
        village("2024-12-06", "30101001002", "Chisawa", 49, 176, 60, 70, 46, 10, 50),
        village("2025-11-15", "30101001003", "Mpata", 1, 5, 2, 2, 1, 0, 0),  # 2024 typed 2025
    ]
    records, issues, notes, _ = read_all(kobo_file(tmp_path, rows))
    assert {str(d) for d in records["reporting_date"]} == {"2024-12-06"}
    stray = [(i.rule, i.row, i.column) for i in issues]
    assert stray == [("stray-assessment-date", 4, "m1855_meta_assessment_date")]
