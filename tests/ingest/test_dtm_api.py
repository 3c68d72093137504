"""DTM API JSON: the envelope, v3's reason x origin parts, v2's totals, and broken downloads."""

import json

import polars as pl
import pytest

from mobtrack.ingest import ImportOptions, SourceFile, get_adapter
from mobtrack.validate.issue import ImportRejected


def v3_row(**kw):
    row = {"id": 1, "operation": "Synthetic crisis", "admin0Name": "Chad", "admin0Pcode": "TCD",
           "admin1Name": "Lac", "admin1Pcode": "TD07", "numPresentIdpInd": 100,
           "reportingDate": "2023-09-30T00:00:00", "roundNumber": 3, "displacementReason": "Conflict",
           "numberMales": None, "numberFemales": None, "idpOriginAdmin1Name": "Not available",
           "idpOriginAdmin1Pcode": "Not available", "assessmentType": "BA"}
    row.update(kw)
    return row


def write(tmp_path, payload, name="response.json"):
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return SourceFile.from_path(path)


def envelope(rows, **kw):
    return {"result": rows, "statusCode": 200, "isSuccess": True, "errorMessages": [],
            "totalRecordsCount": len(rows), **kw}


def read(source):
    adapter = get_adapter(source)
    assert adapter.name == "dtm-api"
    return pl.concat([b.records for b in adapter.read(source, ImportOptions())])


def test_v3_rows_are_parts_of_one_figure_with_sex_breakdowns(tmp_path):
    source = write(tmp_path, envelope([
        v3_row(numPresentIdpInd=60, displacementReason="Conflict", numberMales=30, numberFemales=30),
        v3_row(id=2, numPresentIdpInd=40, displacementReason="Natural disaster", idpOriginAdmin1Pcode="TD01",
               idpOriginAdmin1Name="Batha"),
    ]))
    records = read(source)
    parts = records.filter(pl.col("role") == "part")
    assert parts["value"].sum() == 100
    assert parts["reason"].to_list() == ["Conflict", "Natural disaster"]
    assert parts["origin_pcode"].to_list() == [None, "TD01"]  # "Not available" is absence
    breakdowns = records.filter(pl.col("role") == "breakdown")
    assert sorted(breakdowns["sex"].to_list()) == ["female", "male"]
    assert breakdowns["source_row"].to_list() == [1, 1]
    assert records["admin_level"].unique().to_list() == [1]
    assert records["reporting_date"].cast(pl.String).unique().to_list() == ["2023-09-30"]


def test_v2_rows_are_totals(tmp_path):
    row = {k: v for k, v in v3_row().items() if k not in {"displacementReason", "numberMales", "numberFemales",
                                                            "idpOriginAdmin1Name", "idpOriginAdmin1Pcode"}}
    records = read(write(tmp_path, envelope([row])))
    assert records["role"].to_list() == ["total"]


def test_counts_stored_as_text_are_kept_raw_for_the_rules(tmp_path):
    records = read(write(tmp_path, envelope([v3_row(numPresentIdpInd="Not available")])))
    assert records["value"].to_list() == [None]
    assert records["raw_value"].to_list() == ["Not available"]


@pytest.mark.parametrize("payload, message", [
    ('{"result": [{"id": 1, "operation": "X", "admin0Pcode"', "truncated"),
    (envelope([], isSuccess=False, errorMessages=["Rate limit"]), "Rate limit"),
    ({**envelope([v3_row()]), "totalRecordsCount": 5}, "announces 5 records"),
    ({"something": "else", "admin0Pcode": 1}, "not a DTM API response"),
    (envelope([]), "no records"),
])
def test_broken_downloads_are_refused_with_a_reason(tmp_path, payload, message):
    source = write(tmp_path, payload)
    with pytest.raises(ImportRejected, match=message):
        read(source)
