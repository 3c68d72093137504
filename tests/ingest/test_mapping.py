"""The YAML column-mapping adapter on made-up files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from tests.ingest.synthetic import read_all, write_csv, write_xlsx

from mobtrack.validate.issue import ImportRejected


def load_mapping(path: Path):
    # imported here, not at collection time: importing one adapter module before the registry has
    # loaded the others would hide them from format sniffing in other test modules
    from mobtrack.ingest import _load_builtin_adapters

    _load_builtin_adapters()
    from mobtrack.ingest.mapping import Mapping

    return Mapping.load(path)

MAPPING = """
constants:
  operation: Synthetic floods response
  country_iso3: MOZ
  assessment_type: ETT
  round_number: 4
columns:
  adm1_name: Province
  adm2_pcode: District code
  site_name: Site
  reporting_date: Date
dates:
  reporting_date: "%d/%m/%Y"
values:
  - {column: Families, group: idps, unit: households}
  - {column: People, group: idps, unit: individuals}
  - {column: "Women  and girls", group: idps, unit: individuals, role: breakdown, sex: female}
"""

ROWS = [
    ["Flood event tracking (synthetic)"],
    [],
    ["Province", "District code", "Site", "Date", "Families", "People", "Women and girls", "Notes"],
    ["Sofala", "MZ0701", "Escola 1", "05/03/2024", 10, 48, 25, "ok"],
    ["Sofala", "MZ0702", "Igreja", "05/03/2024", "n/a", 30, 16, ""],
]


def mapping_file(tmp_path, text=MAPPING) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def test_csv_through_a_mapping(tmp_path):
    data = write_csv(tmp_path / "sites.csv", ROWS)
    records, issues, notes, _ = read_all(data, "mapping", mapping=mapping_file(tmp_path))
    assert set(records["operation"]) == {"Synthetic floods response"}
    assert records.select("country_iso3", "assessment_type", "round_number").unique().rows() == [("MOZ", "ETT", 4)]
    assert {str(d) for d in records["reporting_date"]} == {"2024-03-05"}  # day first, as the mapping says
    people = records.filter((pl.col("role") == "total") & (pl.col("unit") == "individuals"))
    assert people["value"].sum() == 78 and set(people["source_row"]) == {4, 5}
    women = records.filter(pl.col("role") == "breakdown")
    assert set(women["sex"]) == {"female"} and women["value"].sum() == 41
    assert set(records["admin_level"]) == {5}  # a site below its district
    families = records.filter(pl.col("source_column") == "Families").sort("source_row")
    assert families.select("value", "raw_value").rows() == [(10, None), (None, "n/a")]
    assert any("column names on row 3" in n for n in notes)


def test_workbook_sheet_by_name_and_the_option_override(tmp_path):
    data = write_xlsx(tmp_path / "sites.xlsx", {"Cover": [["nothing here"]], "Sites": ROWS})
    text = MAPPING + "sheet: Sites\n"
    records, _, _, batches = read_all(data, "mapping", mapping=mapping_file(tmp_path, text))
    assert batches[0].sheet == "Sites" and records.height == 6
    records, _, _, _ = read_all(data, "mapping", mapping=mapping_file(tmp_path, text), round_number=5)
    assert set(records["round_number"]) == {5}
    with pytest.raises(ImportRejected, match="no sheet 'Nope'"):
        read_all(data, "mapping", mapping=mapping_file(tmp_path, MAPPING + "sheet: Nope\n"))


def test_every_mistake_in_the_mapping_is_listed(tmp_path):
    bad = """
colums: {adm1_name: Province}
constants: {round: 3}
values:
  - {column: People, group: displaced people, unit: persons}
  - {column: Families, group: idps, unit: tents, role: sum}
"""
    with pytest.raises(ImportRejected) as err:
        load_mapping(mapping_file(tmp_path, bad))
    message = str(err.value)
    for expected in ("unknown key 'colums'", "unknown field 'round'", "group 'displaced people'",
                     "unit 'tents'", "role 'sum'"):
        assert expected in message


def test_a_column_the_file_lacks_is_named_with_a_suggestion(tmp_path):
    data = write_csv(tmp_path / "sites.csv", ROWS)
    text = MAPPING.replace("column: People,", "column: Peopel,")
    with pytest.raises(ImportRejected, match=r"'Peopel' \(did you mean 'People'\?\)"):
        read_all(data, "mapping", mapping=mapping_file(tmp_path, text))


def test_mapping_format_without_a_mapping_file_is_refused(tmp_path):
    data = write_csv(tmp_path / "sites.csv", ROWS)
    with pytest.raises(ImportRejected, match="--mapping"):
        read_all(data, "mapping")


def test_bundled_mappings_are_valid():
    folder = resources.files("mobtrack") / "data" / "mappings"
    files = [Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")]
    assert files
    for path in files:
        assert load_mapping(path).values


def test_mapped_files_get_the_same_row_checks(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[3][1], rows[4][1] = "Beira", "Dondo"  # names where the mapping expects district codes...
    rows[3][0], rows[4][0] = "MZ09", "MZ09"  # ...and codes where it expects province names
    rows[3][2] = '=HYPERLINK("http://example.invalid","x")'
    text = MAPPING.replace("adm1_name: Province", "adm1_pcode: Province").replace("adm2_pcode: District code",
                                                                                  "adm2_name: District code")
    # adm1 is code-only here and adm2 name-only: nothing to swap, but the formula is flagged by column name
    data = write_csv(tmp_path / "sites.csv", rows)
    records, issues, _, _ = read_all(data, "mapping", mapping=mapping_file(tmp_path, text))
    assert [(i.rule, i.row, i.column) for i in issues] == [("formula-in-text", 4, "Site")]
    swapped = MAPPING.replace("adm1_name: Province", "adm2_name: Province\n  adm1_name: Site")
    records, issues, _, _ = read_all(data, "mapping", mapping=mapping_file(tmp_path, swapped.replace(
        "  site_name: Site\n", "")))
    # Province holds p-codes (mapped as adm2 names), District code holds names (mapped as adm2 p-codes)
    assert any(i.rule == "swapped-name-code" for i in issues)
    assert set(records["adm2_pcode"]) == {"MZ09"}


def test_without_a_sheet_the_one_with_the_mapped_columns_is_read(tmp_path):
    data = write_xlsx(tmp_path / "sites.xlsx", {"Cover": [["nothing here"]], "Sites": ROWS})
    records, _, _, batches = read_all(data, "mapping", mapping=mapping_file(tmp_path))
    assert batches[0].sheet == "Sites" and records.height == 6


def test_hxl_workbooks_point_to_a_bundled_mapping_for_untagged_site_lists(tmp_path):
    # the column names of the bundled DTM mobility-tracking mapping, on made-up rows
    mapping = load_mapping(next(p for p in _bundled() if p.name == "dtm-mobility-tracking-locations.yaml"))
    header = list(dict.fromkeys(mapping.wanted_columns()))
    sites = [header, ["x"] * len(header)]
    summary = [["State", "IDPs"], ["#adm1+code", "#affected+idps+ind"], ["SS01", 10]]
    path = write_xlsx(tmp_path / "ssd_baseline_assessment_round_12.xlsx", {"Summary": summary, "Locations": sites})
    _, _, notes, _ = read_all(path)
    assert any("'Locations'" in n and "dtm-mobility-tracking-locations.yaml" in n for n in notes)


def _bundled():
    folder = resources.files("mobtrack") / "data" / "mappings"
    return [Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")]
