"""The HXL adapter on small synthetic workbooks and CSV files."""

from __future__ import annotations

import polars as pl
import pytest
from tests.ingest.synthetic import HEADER, TAGS, district_rows, read_all, write_csv, write_xlsx

from mobtrack.ingest.hxl_tags import normalise_tag, value_tag
from mobtrack.validate.issue import ImportRejected


def figure(records: pl.DataFrame, group: str, unit: str, role: str = "total") -> int:
    return records.filter(
        (pl.col("population_group") == group) & (pl.col("unit") == unit) & (pl.col("role") == role)
    )["value"].sum()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("#affected+idp+ind", "#affected+idp+ind"),
        ("#affected +IDPS +Ind", "#affected+idps+ind"),
        ("#affected\t+idps\t+hh", "#affected+idps+hh"),
        ("#adm1+Name", "#adm1+name"),
        ("not a tag", None),
        ("# of IDP households", None),  # a header, not a tag
        ("# EST IDPs", None),
    ],
)
def test_tag_variants_normalise(raw, expected):
    assert normalise_tag(raw) == expected


def test_context_tags():
    from mobtrack.ingest.hxl_tags import context_field

    assert context_field("#date+reported") == "reporting_date"
    assert context_field("#date+year+reported") is None
    assert context_field("#adm2+code+origin") == "origin2_pcode"
    assert context_field("#adm1+name+i_ar") is None
    assert context_field("#meta+round") == context_field("#round+code") == "round_number"
    assert context_field("#cause+displacement+conflict+bool") is None


def test_value_tags_carry_group_unit_and_disaggregation():
    girls = value_tag("#affected+idps+ind+f+children")
    assert (girls.group, girls.unit, girls.sex, girls.age_band) == ("idps", "individuals", "female", "children")
    assert value_tag("#affected+idp+ind+age0_4").age_band == "0-4"
    assert value_tag("#affected+idps+ind+m+age60plus").age_band == "60+"
    assert value_tag("#affected+returnees+abroad+hh").group == "returnees_abroad"
    assert value_tag("#affected+idps+hh+cause+conflict+insurgency").reason == "conflict_insurgency"
    assert value_tag("#affected+idps+ind+camp").shelter_type == "camp"
    # attributes we do not understand are refused, not guessed
    assert isinstance(value_tag("#affected+idps+ind+weird"), str)
    assert isinstance(value_tag("#affected+idps+ind+new"), str)  # a flow (new arrivals), not the stock
    assert isinstance(value_tag("#affected+idps+returnees+ind"), str)  # which group? not guessed


def test_workbook_with_title_rows_and_notes_sheet(tmp_path):
    path = write_xlsx(tmp_path / "kenya_baseline_assessment_round_7.xlsx", {
        "Read me": [["This workbook holds round 7"], ["Published by nobody"]],
        "Data": [["DTM Kenya - synthetic"], [], HEADER, TAGS, *district_rows()],
    })
    records, issues, notes, batches = read_all(path)
    assert batches[0].sheet == "Data"
    assert any("'Data'" in n and "Read me" in n for n in notes)
    assert set(records["round_number"]) == {7}
    assert set(records["assessment_type"]) == {"BA"}
    assert set(records["operation"]) == {"KEN Baseline area assessment"}
    assert figure(records, "idps", "individuals") == 152
    assert figure(records, "idps", "households") == 33
    assert figure(records, "returnees_internal", "individuals") == 12
    # provenance: spreadsheet row numbers (title row 1, blank 2, header 3, tags 4, data from 5)
    first = records.filter(pl.col("adm2_pcode") == "KE0101").filter(pl.col("unit") == "individuals")
    assert first.filter(pl.col("population_group") == "idps")["source_row"].to_list() == [5]
    assert set(records["source_column"]) == {"IDP HH", "IDP Ind", "Returnee Ind"}
    assert set(records["source_sheet"]) == {"Data"}
    assert set(records["admin_level"]) == {2}


def test_the_sheet_with_most_rows_wins_and_sheet_option_overrides(tmp_path):
    summary = [HEADER[3:5] + ["IDP Ind"], ["#adm1+name", "#adm1+code", "#affected+idps+ind"], ["Alpha", "KE01", 140]]
    path = write_xlsx(tmp_path / "ken_baseline_round_3.xlsx", {"Summary": summary, "Districts": [HEADER, TAGS, *district_rows()]})
    records, _, notes, _ = read_all(path)
    assert set(records["source_sheet"]) == {"Districts"}
    records, _, notes, _ = read_all(path, sheet="Summary", country_iso3="KEN")
    assert records["value"].to_list() == [140] and set(records["admin_level"]) == {1}
    with pytest.raises(ImportRejected, match="no sheet 'Nope'"):
        read_all(path, sheet="Nope")


def test_swapped_name_and_code_columns_are_detected_and_corrected(tmp_path):
    tags = list(TAGS)
    tags[5], tags[6] = "#adm2+code", "#adm2+name"  # the column of names is tagged +code and vice versa
    path = write_xlsx(tmp_path / "ken_baseline_round_2.xlsx", {"Data": [HEADER, tags, *district_rows()]})
    records, issues, _, _ = read_all(path)
    assert [i.rule for i in issues if i.rule == "swapped-name-code"] == ["swapped-name-code"]
    assert set(records["adm2_pcode"]) == {"KE0101", "KE0102", "KE0201"}
    assert "Alpha North" in set(records["adm2_name"])


def test_two_rounds_with_drifting_columns_share_one_operation(tmp_path):
    r1 = write_xlsx(tmp_path / "eth_site_assessment_round_28.xlsx", {"Sites": [
        ["Reported", "Country", "Region code", "Zone code", "Woreda code", "HH", "Ind"],
        ["#date+reported", "#country+code", "#adm1+code", "#adm2+code", "#adm3+code", "#affected+idps+hh",
         "#affected+idps+ind"],
        ["2022-01-31", "ETH", "ET06", "ET0603", "ET060305", 22, 67],
    ]})
    r2 = write_xlsx(tmp_path / "eth_dtm_ethiopia_site_assessment_round_29.xlsx", {"Sites": [
        ["Country", "Reported", "Region code", "Zone code", "Ind", "HH"],
        ["#country+name", "#date+reported", "#adm1+code", "#adm2+code", "#affected+idps+ind", "#affected+idps+hh"],
        ["Ethiopia", "April-30-2022", "ET05", "ET0502", 2202, 367],
    ]})
    a, _, notes_a, _ = read_all(r1)
    b, _, _, _ = read_all(r2)
    assert set(a["operation"]) == set(b["operation"]) == {"ETH Site / location assessment"}
    assert set(a["assessment_type"]) == set(b["assessment_type"]) == {"SA"}
    assert (a["round_number"][0], b["round_number"][0]) == (28, 29)
    assert str(b["reporting_date"][0]) == "2022-04-30"
    assert any("no operation name" in n for n in notes_a)


def test_missing_round_identity_is_refused_with_the_fix(tmp_path):
    path = write_xlsx(tmp_path / "estimates.xlsx", {"Data": [
        ["Oblast", "IDPs"], ["#adm1+name", "#affected+idp+ind"], ["Kyivska", 1000]]})
    with pytest.raises(ImportRejected) as err:
        read_all(path)
    message = str(err.value)
    assert "--round" in message and "--country" in message and "--assessment-type" in message
    records, _, _, _ = read_all(path, round_number=13, country_iso3="UKR", assessment_type="SRV")
    assert records.select("round_number", "country_iso3", "assessment_type", "value").row(0) == (13, "UKR", "SRV", 1000)


def test_round_from_column_and_option_override(tmp_path):
    path = write_xlsx(tmp_path / "nga_baseline_assessment.xlsx", {"D": [
        ["Round", "Country", "State", "IDPs"], ["#meta+round", "#country+code", "#adm1+name", "#affected+idps+ind"],
        ["R38", "NGA", "Borno", 10]]})
    assert read_all(path)[0]["round_number"].to_list() == [38]
    assert read_all(path, round_number=40)[0]["round_number"].to_list() == [40]


def test_disaggregation_columns_are_breakdowns_and_causes_are_parts(tmp_path):
    path = write_xlsx(tmp_path / "x_baseline_round_1.xlsx", {"D": [
        ["Country", "Ward", "IDP Ind", "Women", "Men", "Girls", "Conflict Ind", "Disaster Ind"],
        ["#country+code", "#adm3+code", "#affected+idps+ind", "#affected+idps+ind+f+adult", "#affected+idps+ind+m+adult",
         "#affected+idps+ind+f+children", "#affected+idps+ind+cause+conflict", "#affected+idps+ind+cause+disaster"],
        ["NGA", "NG001001001", 100, 30, 25, 20, 70, 30]]})
    records, _, _, _ = read_all(path)
    by_role = dict(records.group_by("role").agg(pl.col("value").sum()).iter_rows())
    assert by_role == {"total": 100, "breakdown": 75, "part": 100}
    girls = records.filter((pl.col("sex") == "female") & (pl.col("age_band") == "children"))
    assert girls["value"].to_list() == [20]
    assert set(records.filter(pl.col("role") == "part")["reason"]) == {"conflict", "disaster"}


def global_csv_rows() -> list[list]:
    return [
        ["operation", "admin0Pcode", "admin1Name", "admin1Pcode", "adminLevel", "numPresentIdpInd", "reportingDate",
         "roundNumber", "displacementReason", "numberMales", "numberFemales", "idpOriginAdmin1Pcode", "assessmentType"],
        ["#operation+name", "#country+code", "#adm1+name", "#adm1+code", "#adm+level", "#affected+idps",
         "#date+reported", "#round+code", "#cause+type", "#affected+idps+m", "#affected+idps+f",
         "#adm1+code+origin", "#assessment+type"],
        ["Op A", "HTI", "", "", 0, 70, "2023-03-31T00:00:00", 3, "Conflict", 30, 40, "HT01", "BA"],
        ["Op A", "HTI", "", "", 0, 30, "2023-03-31T00:00:00", 3, "Disaster", "", "", "HT02", "BA"],
        ["Op A", "HTI", "Ouest", "HT01", 1, 60, "2023-03-31T00:00:00", 3, "Conflict", "", "", "HT01", "BA"],
        ["Op A", "HTI", "Ouest", "HT01", 1, 10, "2023-03-31T00:00:00", 3, "Disaster", "", "", "HT02", "BA"],
        ["Op A", "HTI", "Nord", "HT03", 1, 10, "2023-03-31T00:00:00", 3, "Conflict", "", "", "HT01", "BA"],
        ["Op A", "HTI", "Nord", "HT03", 1, 20, "2023-03-31T00:00:00", 3, "Disaster", "", "", "Not available", "BA"],
    ]


def test_global_csv_split_rows_are_parts_in_streamed_batches(tmp_path):
    path = write_csv(tmp_path / "global.csv", global_csv_rows())
    records, issues, notes, batches = read_all(path, batch_rows=2)
    assert len(batches) == 3  # 6 data rows, 2 per batch: streamed, not read whole
    parts = records.filter(pl.col("role") == "part")
    per_level = dict(parts.group_by("admin_level").agg(pl.col("value").sum()).iter_rows())
    assert per_level == {0: 100, 1: 100}
    sexes = records.filter(pl.col("role") == "breakdown").select("sex", "value", "reason").sort("sex").rows()
    assert sexes == [("female", 40, "Conflict"), ("male", 30, "Conflict")]
    assert parts.filter(pl.col("source_row") == 8)["origin_pcode"].to_list() == [None]  # "Not available"
    assert sorted(parts["source_row"].to_list()) == [3, 4, 5, 6, 7, 8]
    assert set(records["operation"]) == {"Op A"} and set(records["round_number"]) == {3}


def test_descriptive_row_columns_do_not_split_one_row_per_place(tmp_path):
    path = write_csv(tmp_path / "nga_baseline_assessment_round_38.csv", [
        ["Country", "Ward code", "IDPs", "Main origin", "Year"],
        ["#country+code", "#adm3+code", "#affected+idps+ind", "#adm1+name+origin", "#indicator+displacement+year"],
        ["NGA", "NG001001001", 40, "Borno", 2016],
        ["NGA", "NG001001002", 60, "Yobe", 2015],
    ])
    records, _, notes, _ = read_all(path)
    assert set(records["role"]) == {"total"}
    assert records["origin_name"].null_count() == 2
    assert any("do not split" in n for n in notes)


def test_counts_as_text_placeholders_and_bad_numbers(tmp_path):
    rows = [HEADER, TAGS, *district_rows()]
    rows[2][8] = "1,234"
    rows[3][8] = "Not available"
    rows[4][8] = "12.5"
    rows[4][7] = "lots"
    path = write_csv(tmp_path / "ken_baseline_round_1.csv", rows)
    records, issues, _, _ = read_all(path)
    ind = records.filter((pl.col("population_group") == "idps") & (pl.col("unit") == "individuals")).sort("source_row")
    assert ind["value"].to_list() == [1234, None, None]
    assert ind["raw_value"].to_list() == ["1,234", "Not available", "12.5"]
    hh = records.filter((pl.col("population_group") == "idps") & (pl.col("unit") == "households"))
    assert hh.filter(pl.col("source_row") == 5).select("value", "raw_value", "source_column").row(0) == (
        None, "lots", "IDP HH")  # kept for the non-numeric-count rule to quote
    assert [(i.rule, i.row, i.column, i.value) for i in issues] == [("count-as-text", 3, "IDP Ind", "1,234")]


def test_settlement_codes_that_do_not_nest_become_sites(tmp_path):
    path = write_csv(tmp_path / "som_baseline_round_1.csv", [
        ["Country", "District code", "Settlement code", "Settlement", "IDPs"],
        ["#country+code", "#adm2+code", "#adm3+code", "#adm3+name", "#affected+idps+ind"],
        ["SOM", "SOM2501", "NA-3802-A10-001", "Dugsiilow", 420],
        ["SOM", "SOM2501", "NA-3802-B14-002", "Jilibow", 60],
    ])
    records, _, notes, _ = read_all(path)
    assert records["site_code"].to_list() == ["NA-3802-A10-001", "NA-3802-B14-002"]
    assert records["adm3_pcode"].null_count() == 2 and set(records["admin_level"]) == {5}


def test_no_hxl_row_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "plain.xlsx", {"A": [["Region", "IDPs"], ["Alpha", 3]]})
    with pytest.raises(ImportRejected, match="no sheet has an HXL hashtag row"):
        read_all(path, "hxl")


def test_site_rows_without_site_names_are_parts_of_their_place(tmp_path):
    rows = [["Country", "Woreda", "HH"], ["#country+code", "#adm3+code", "#affected+idps+hh"]]
    rows += [["ETH", "ET060305", n] for n in (22, 244, 17)] + [["ETH", "ET060306", 5]]
    path = write_csv(tmp_path / "eth_site_assessment_round_28.csv", rows)
    records, _, notes, _ = read_all(path)
    assert set(records["role"]) == {"part"}
    assert dict(records.group_by("adm3_pcode").agg(pl.col("value").sum()).iter_rows()) == {"ET060305": 283,
                                                                                         "ET060306": 5}
    assert any("nothing tells them apart" in n for n in notes)


def test_a_stray_repeated_place_stays_a_total_for_the_duplicate_rules(tmp_path):
    rows = [HEADER, TAGS, *district_rows(), district_rows()[0]]
    path = write_csv(tmp_path / "ken_baseline_round_1.csv", rows)
    records, _, _, _ = read_all(path)
    assert set(records["role"]) == {"total"}


def test_reporting_date_given_by_the_user_wins(tmp_path):
    from mobtrack.ingest.base import ImportOptions, SourceFile
    from mobtrack.ingest.hxl import HxlAdapter

    path = write_csv(tmp_path / "ken_baseline_round_1.csv", [HEADER, TAGS, *district_rows()])
    options = ImportOptions()
    options.reporting_date = "2024-04-15"  # the CLI's --reporting-date, where offered
    batches = list(HxlAdapter().read(SourceFile.from_path(path), options))
    assert {str(d) for d in batches[0].records["reporting_date"]} == {"2024-04-15"}


def test_grand_total_rows_are_left_out_and_reported(tmp_path):
    rows = [HEADER, TAGS, *district_rows(), ["2024-03-31", "Kenya", "KEN", "Grand Total", None, None, None, 33, 152, 12]]
    path = write_csv(tmp_path / "ken_baseline_round_1.csv", rows)
    records, issues, _, _ = read_all(path)
    assert records.filter((pl.col("unit") == "individuals") & (pl.col("population_group") == "idps"))["value"].sum() == 152
    assert [(i.rule, i.row) for i in issues] == [("total-row", 6)]


def test_reporting_date_from_the_file_name_when_the_file_has_none(tmp_path):
    rows = [[h for h in HEADER[1:]], [t for t in TAGS[1:]], *[r[1:] for r in district_rows()]]
    path = write_csv(tmp_path / "ken_baseline_round_3_idp_estimation_25_september_2023.csv", rows)
    records, _, notes, _ = read_all(path)
    assert {str(d) for d in records["reporting_date"]} == {"2023-09-25"}
    assert any("taken from the file name" in n and "2023-09-25" in n for n in notes)
    # a date column wins over the name
    path = write_csv(tmp_path / "ken_baseline_round_3_25_september_2023.csv", [HEADER, TAGS, *district_rows()])
    assert {str(d) for d in read_all(path)[0]["reporting_date"]} == {"2024-03-31"}


def test_country_codes_as_written_become_iso3(tmp_path):
    rows = [HEADER, TAGS, *district_rows()]
    for r in rows[2:]:
        r[2] = "ke"  # ISO2, lower case, in the code column
    records, _, _, _ = read_all(write_csv(tmp_path / "x_baseline_round_1.csv", rows))
    assert set(records["country_iso3"]) == {"KEN"}
