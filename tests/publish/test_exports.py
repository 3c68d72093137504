"""Downloads never turn a name into a spreadsheet formula (the import keeps `=HYPERLINK(...)` names as text)."""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest

from mobtrack.publish.exports import export

FRAME = pl.DataFrame({"pcode": ["SO11", "SO12", "SO13", "SO14", "SO15"],
                      "name": ['=HYPERLINK("http://evil.example","Bari")', "Awdal", "-", "-2+3", "@SUM(A1)"],
                      "change": [1, -2, 3, -4, 5]})


def test_xlsx_cells_are_text_never_formulas():
    sheet = openpyxl.load_workbook(io.BytesIO(export(FRAME, "xlsx"))).active
    names = [(c.value, c.data_type) for c in sheet["B"]][1:]
    assert names == [(v, "s") for v in FRAME["name"]]  # the text itself, unchanged, typed as text
    assert [c.value for c in sheet["C"]][1:] == [1, -2, 3, -4, 5]


@pytest.mark.parametrize(("fmt", "skip"), [("csv", 0), ("hxl", 1)])
def test_csv_cells_that_a_spreadsheet_would_run_start_with_an_apostrophe(fmt, skip):
    back = pl.read_csv(io.BytesIO(export(FRAME, fmt)), infer_schema=False).slice(skip)
    assert back["name"].to_list() == ["'=HYPERLINK(\"http://evil.example\",\"Bari\")", "Awdal", "-", "'-2+3",
                                      "'@SUM(A1)"]
    assert back["change"].to_list() == ["1", "-2", "3", "-4", "5"]  # numbers keep their sign
    assert back["pcode"].to_list() == FRAME["pcode"].to_list()
