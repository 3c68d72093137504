"""The real DTM files in ../shared/data through the HXL, data-dictionary and mapping adapters.

Every country workbook imports or is refused with a message that says how to fix it; the
figures read are checked against the source columns, summed independently here.
"""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl
import pytest

from mobtrack.ingest import _load_builtin_adapters, get_adapter
from mobtrack.ingest.base import ImportOptions, SourceFile
from mobtrack.validate.issue import ImportRejected

COUNTRY = "dtm/country-files"


def read(path: Path, fmt: str | None = None, **options):
    _load_builtin_adapters()
    source = SourceFile.from_path(path)
    adapter = get_adapter(source, fmt)
    batches = list(adapter.read(source, ImportOptions(format=fmt, **options)))
    records = pl.concat([b.records for b in batches], how="vertical_relaxed")
    return adapter.name, records, [i for b in batches for i in b.issues], [n for b in batches for n in b.notes]


def column_sum(path: Path, sheet: str, header: str) -> int:
    """Sum of one column read straight from the workbook (header row 1, HXL row 2)."""
    frame = fastexcel.read_excel(str(path)).load_sheet(sheet, header_row=0, dtypes="string").to_polars()
    return int(frame.slice(1)[header].cast(pl.Float64, strict=False).sum())


def total(records: pl.DataFrame, group: str, unit: str) -> int:
    """The headline figure: the totals, or the sum of the parts where a file gives only parts."""
    cell = records.filter((pl.col("population_group") == group) & (pl.col("unit") == unit))
    totals = cell.filter(pl.col("role") == "total")
    return int((totals if totals.height else cell.filter(pl.col("role") == "part"))["value"].sum())


@pytest.mark.parametrize(
    ("name", "sheet", "checks"),
    [
        ("iom_dtm_dtm_nigeria_baseline_assessment_round_38.xlsx", "Baseline Assessment Dataset",
         {("idps", "individuals"): "Estimated Number of IDP", ("idps", "households"): "Estimated Household Number"}),
        ("iom_dtm_dtm_cameroon_baseline_assessment_round_22.xlsx", "Data_Locations and Sites",
         {("idps", "individuals"): "Ind_IDPs", ("refugees", "households"): "Household_Refugees"}),
        ("iom_dtm_dtm_libya_baseline_assessment_round_39.xlsx", "IDPs_Returnees",
         {("idps", "individuals"): "IDP Indiv", ("returnees_internal", "individuals"): "Returnee Indiv"}),
        ("iom_dtm_dtm_somalia_baseline_assessment_round_1.xlsx", "B2, Dataset",
         {("idps", "individuals"): "IDPs ind Total", ("returnees_internal", "households"): "Returnees (HH)"}),
        ("iom_dtm_dtm_ethiopia_site_assessment_round_28.xlsx", "Sites",
         {("idps", "individuals"): "2.1.b.1: Total IDP (Individuals)"}),
        ("iom_dtm_eth_dtm_ethiopia_site_assessment_round_29.xlsx", "Sites",
         {("idps", "individuals"): "2.1.b.7: Total IDP (Individuals)"}),
        ("iom_dtm_dtm_south_sudan_baseline_assessment_round_11.xlsx", "MT R11 State Summary",
         {("idps", "individuals"): "Estimated # of IDP individuals  (total)"}),
    ],
)
def test_country_workbooks_import_with_the_source_totals(shared_data, name, sheet, checks):
    path = shared_data / COUNTRY / name
    adapter, records, issues, notes = read(path)
    assert adapter == "hxl"
    assert set(records["source_sheet"]) == {sheet}
    assert records.select("operation", "country_iso3", "assessment_type", "round_number").null_count().sum_horizontal()[0] == 0
    for (group, unit), header in checks.items():
        assert total(records, group, unit) == column_sum(path, sheet, header), (group, unit)
    assert not [i for i in issues if i.severity == "error"]


def test_ukraine_estimates_are_refused_with_what_to_pass(shared_data):
    with pytest.raises(ImportRejected) as r13:
        read(shared_data / COUNTRY / "idps_download-data-round-13-idp-report.xlsx")
    assert "--country" in str(r13.value) and "--assessment-type" in str(r13.value)
    with pytest.raises(ImportRejected, match="--assessment-type"):
        read(shared_data / COUNTRY / "idps_round_14_idp_estimation_25_september_2023.xlsx")
    # with the missing facts given, both import as rounds 13 and 14 of one operation
    _, r13, _, _ = read(shared_data / COUNTRY / "idps_download-data-round-13-idp-report.xlsx",
                        country_iso3="UKR", assessment_type="SRV")
    _, r14, _, _ = read(shared_data / COUNTRY / "idps_round_14_idp_estimation_25_september_2023.xlsx",
                        assessment_type="SRV")
    assert set(r13["operation"]) == set(r14["operation"])
    assert (set(r13["round_number"]), set(r14["round_number"])) == ({13}, {14})
    assert r13.filter(pl.col("adm1_name") == "Luhanska*")["raw_value"].to_list()[0] == "n/a"


def test_ethiopia_rounds_28_and_29_are_one_operation(shared_data):
    _, r28, _, _ = read(shared_data / COUNTRY / "iom_dtm_dtm_ethiopia_site_assessment_round_28.xlsx")
    _, r29, _, _ = read(shared_data / COUNTRY / "iom_dtm_eth_dtm_ethiopia_site_assessment_round_29.xlsx")
    assert set(r28["operation"]) == set(r29["operation"]) and len(set(r28["operation"])) == 1
    assert set(r28["assessment_type"]) == set(r29["assessment_type"]) == {"SA"}
    assert (set(r28["admin_level"]), set(r29["admin_level"])) == ({3}, {2})  # woreda, then zone only
    assert [str(d) for d in r29["reporting_date"].unique()] == ["2022-04-30"]  # stored as "April-30-2022"


def test_nigeria_swapped_admin_columns_are_corrected(shared_data):
    _, records, issues, _ = read(shared_data / COUNTRY / "iom_dtm_dtm_nigeria_baseline_assessment_round_38.xlsx")
    swapped = [i.column for i in issues if i.rule == "swapped-name-code"]
    assert "#adm2+code/#adm2+name" in swapped
    assert records["adm2_pcode"].str.contains(r"^NG\d+$").all()
    assert not records["adm2_name"].str.contains(r"^NG\d").any()
    # the cause columns split each ward's figure: parts that add up to the total
    parts = records.filter(pl.col("role") == "part")
    assert set(parts["reason"]) >= {"conflict_insurgency", "conflict_clash", "disaster"}


def test_global_csv_split_rows_are_parts_and_sum_to_the_file(shared_data):
    path = shared_data / "dtm/api/global-iom-dtm-from-api-admin-0-to-2.csv"
    _, records, issues, _ = read(path, batch_rows=3000)
    raw = pl.read_csv(path, skip_rows_after_header=1, infer_schema=False)
    expected = raw.group_by("adminLevel").agg(pl.col("numPresentIdpInd").cast(pl.Int64, strict=False).sum())
    parts = records.filter(pl.col("role") == "part").group_by("admin_level").agg(pl.col("value").sum())
    assert dict(parts.iter_rows()) == {int(k): v for k, v in expected.iter_rows()}
    assert set(records["role"]) == {"part", "breakdown"}
    assert set(records.filter(pl.col("role") == "breakdown")["sex"]) == {"male", "female"}
    # spreadsheet rows: 1 is the header, 2 the hashtags, data from 3
    assert records["source_row"].min() == 3 and records["source_row"].max() == raw.height + 2


@pytest.mark.parametrize("name", ["survey.csv", "data_raw_kobo.csv"])
def test_malawi_data_dictionary_and_kobo_exports(shared_data, name):
    path = shared_data / "dtm/malawi" / name
    adapter, records, issues, notes = read(path)
    assert adapter == "dtm-kobo"
    raw = pl.read_csv(path, infer_schema=False, null_values=["NULL"])
    assert total(records, "idps", "individuals") == raw["m0310_loc_num_idp_ind"].cast(pl.Int64).sum()
    assert total(records, "returnees_internal", "households") == raw["m0847_loc_num_return_idp_hh"].cast(pl.Int64).sum()
    assert set(records["admin_level"]) == {5} and records["adm3_pcode"].null_count() == 0
    assert set(records["country_iso3"]) == {"MWI"} and set(records["round_number"]) == {1}
    # coordinates are the village's own (m1650), never where the interview started (m2696)
    if "_m1650_loc_gps_coords_latitude" in raw.columns:
        village = raw.select(pl.col("_m1650_loc_gps_coords_latitude").cast(pl.Float64).alias("village"),
                             pl.col("_m2696_meta_start_gps_latitude").cast(pl.Float64).alias("start"))
        village = village.with_row_index("source_row", offset=2).with_columns(pl.col("source_row").cast(pl.Int64))
        joined = records.select("source_row", "latitude").join(village, on="source_row")
        assert (joined["latitude"] == joined["village"]).all()
        assert (joined["village"] != joined["start"]).any()


def test_south_sudan_locations_through_the_bundled_mapping(shared_data):
    from importlib import resources

    mapping = Path(str(resources.files("mobtrack") / "data/mappings/dtm-mobility-tracking-locations.yaml"))
    path = shared_data / COUNTRY / "iom_dtm_dtm_south_sudan_baseline_assessment_round_11.xlsx"
    _, records, issues, _ = read(path, "mapping", mapping=mapping)
    _, states, _, _ = read(path)
    assert total(records, "idps", "individuals") == total(states, "idps", "individuals")
    assert set(records["admin_level"]) == {5} and records["latitude"].null_count() == 0
