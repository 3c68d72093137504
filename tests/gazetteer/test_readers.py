"""Reading gazetteer files of every supported shape into units."""

from __future__ import annotations

import json

import polars as pl
import pytest
import shapely

from mobtrack.gazetteer.readers import GazetteerFileError, read_units
from tests.gazetteer.helpers import ADM1, ADM2, write_geojson, write_shapefile


def test_cod_geojson_with_languages_and_geometry(tmp_path):
    units = read_units(write_geojson(tmp_path / "tcd_adm2.geojson", ADM2))
    by_code = {r["pcode"]: r for r in units.iter_rows(named=True)}
    assert sorted(by_code) == ["TCD01", "TCD0101", "TCD07", "TCD0701", "TCD0702"]
    mamdi, lake = by_code["TCD0701"], by_code["TCD07"]
    assert mamdi["admin_level"] == 2 and mamdi["parent_pcode"] == "TCD07" and mamdi["country_iso3"] == "TCD"
    assert shapely.from_wkb(mamdi["geometry"]).area == 1.0
    assert 0 < mamdi["longitude"] < 1 and 0 < mamdi["latitude"] < 1  # a point inside its square
    assert lake["geometry"] is None  # an ancestor read from a deeper layer has no shape of its own
    assert json.loads(lake["names"]) == {"en": "Lake", "fr": "Lac"}
    assert str(mamdi["valid_from"]) == "2024-01-01"


def test_shapefile(tmp_path):
    units = read_units(write_shapefile(tmp_path / "tcd_adm1.shp", ADM1))
    assert sorted(units["pcode"]) == ["TCD01", "TCD07"]
    assert json.loads(units.filter(pl.col("pcode") == "TCD07")["names"][0])["ar"] == "البحيرة"
    assert units["geometry"].null_count() == 0


def test_wide_table_like_malawi(tmp_path):
    path = tmp_path / "pcodes.csv"
    path.write_text("ISO3,ADM1_NAME,ADM1_CODE,ADM1_Type,ADM2_NAME,ADM2_CODE,Latitude,Longitude\n"
                    "MWI,Northern,MW1,Region,Chitipa,MW101,-9.7,33.3\n"
                    "MWI,Northern,MW1,Region,Karonga,MW102,-9.9,33.9\n", encoding="utf-8-sig")
    units = read_units(path)
    assert units.filter(pl.col("admin_level") == 1)["pcode"].to_list() == ["MW1"]
    chitipa = units.filter(pl.col("pcode") == "MW101").row(0, named=True)
    assert chitipa["parent_pcode"] == "MW1" and chitipa["latitude"] == -9.7


def test_long_list_like_ocha(tmp_path):
    path = tmp_path / "global.csv"
    path.write_text("Location,Admin Level,P-Code,Name,Parent P-Code,Valid from date\n"
                    "TCD,1,TD07,Lac,TCD,2016-05-09\nTCD,2,TD0701,Mamdi,TD07,2017-06-15\n"
                    "CMR,1,CM001,Adamaoua,CMR,2019-01-01\nJAM,2,JM10001,,JM10,2017-09-09\n")
    units = read_units(path)
    assert set(units["country_iso3"]) == {"TCD", "CMR", "JAM"}
    assert units.filter(pl.col("pcode") == "JM10001")["name"][0] == "JM10001"  # nameless unit: code stands in
    assert read_units(path, "TCD").height == 2


def test_old_cod_conventions(tmp_path):
    features = [{"admin1Name": "Awdal", "admin1Pcod": "SO11", "admin1AltN": "Awdal Region", "admin0Pcod": "SO",
                 "validOn": "2017-04-05T00:00:00.000Z", "validTo": "1899-11-30T00:00:00.000Z"}]
    unit = read_units(write_geojson(tmp_path / "som.geojson", features)).row(0, named=True)
    assert unit["country_iso3"] == "SOM" and unit["pcode"] == "SO11"
    assert unit["valid_to"] is None  # Esri's 1899-11-30 means "no date"
    assert json.loads(unit["names"])["alt"] == ["Awdal Region"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
    ('{"type": "FeatureCollection", "features": [{"properties": {"foo": 1}, "geometry": null}]}',
     "no p-code columns"),
])
def test_bad_geojson(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(GazetteerFileError, match=message):
        read_units(path)


def test_unknown_country_and_format(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("P-Code,Name,Admin Level\nXX01,Somewhere,1\n")
    with pytest.raises(GazetteerFileError, match="--country"):
        read_units(path)
    assert read_units(path, "TCD")["country_iso3"].to_list() == ["TCD"]
    other = tmp_path / "list.txt"
    other.write_text("x")
    with pytest.raises(GazetteerFileError, match="unsupported"):
        read_units(other)


def test_cod_tabular_workbook_with_a_sheet_per_level(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Synthetic workbook for tests"])
    adm1 = wb.create_sheet("ADM1")
    adm1.append(["ADM1_EN", "ADM1_FR", "ADM1_PCODE", "ADM0_PCODE"])
    adm1.append(["Lake", "Lac", "TCD07", "TD"])
    adm2 = wb.create_sheet("ADM2")
    adm2.append(["ADM2_EN", "ADM2_PCODE", "ADM1_EN", "ADM1_PCODE", "ADM0_PCODE"])
    adm2.append(["Mamdi", "TCD0701", "Lake", "TCD07", "TD"])
    path = tmp_path / "tcd_adminboundaries_tabulardata.xlsx"
    wb.save(path)
    units = read_units(path)
    assert sorted(units["pcode"].unique()) == ["TCD07", "TCD0701"]
    assert units.filter(pl.col("pcode") == "TCD0701")["parent_pcode"][0] == "TCD07"


def test_corrupted_workbook(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(GazetteerFileError, match="cannot read as a workbook"):
        read_units(path)
