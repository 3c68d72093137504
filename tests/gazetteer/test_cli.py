"""`mobtrack match` and `mobtrack gazetteer load|reviews|decide`, as a user runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mobtrack.cli import app
from tests.gazetteer.helpers import ADM2, write_geojson

runner = CliRunner()


@pytest.fixture
def no_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOBTRACK_DATABASE_URL", raising=False)
    return tmp_path


def test_match_out_of_the_box(no_database):
    names = no_database / "names.csv"
    names.write_text("district,region\nMamdi,Lac\nWAYI,TD07\nKaya,\nMamdi Nord,Lac\nAtlantis,Lac\n")
    result = runner.invoke(app, ["match", str(names), "--country", "tcd", "--level", "2",
                                 "--name-column", "district", "--parent-column", "region", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["input"] for r in rows] == ["Mamdi", "WAYI", "Kaya", "Mamdi Nord", "Atlantis"]
    assert [r["pcode"] for r in rows] == ["TD0701", "TD0702", "TD0703", None, None]
    assert [r["status"] for r in rows] == ["matched", "matched", "matched", "review", "unmatched"]
    assert rows[0]["method"] == "exact-name" and rows[1]["method"] == "normalised-name"
    assert rows[3]["candidates"][0]["pcode"] == "TD0701"
    assert all(isinstance(r["score"], float) for r in rows)
    assert not (no_database / "mobtrack.db").exists()  # matching never creates a database


def test_match_usage_errors(no_database):
    names = no_database / "names.csv"
    names.write_text("name\nLac\n")
    assert runner.invoke(app, ["match", "missing.csv", "--country", "TCD", "--level", "1"]).exit_code == 2
    assert runner.invoke(app, ["match", str(names), "--country", "TCD", "--level", "7"]).exit_code == 2
    bad_column = runner.invoke(app, ["match", str(names), "--country", "TCD", "--level", "1", "--name-column", "x"])
    assert bad_column.exit_code == 2 and "no column 'x'" in bad_column.output
    unknown = runner.invoke(app, ["match", str(names), "--country", "XYZ", "--level", "1"])
    assert unknown.exit_code == 1 and "no gazetteer for XYZ" in unknown.output


def test_load_review_decide(db_url, tmp_path):
    path = write_geojson(tmp_path / "tcd_adm2.geojson", ADM2)
    loaded = runner.invoke(app, ["gazetteer", "load", str(path), "--version-name", "COD 2024", "--db", db_url, "--json"])
    assert loaded.exit_code == 0, loaded.output
    (version,) = json.loads(loaded.stdout)
    assert version["country"] == "TCD" and version["units"] == {"0": 1, "1": 2, "2": 3}
    again = runner.invoke(app, ["gazetteer", "load", str(path), "--version-name", "COD 2024", "--db", db_url, "--json"])
    assert json.loads(again.stdout)[0]["status"] == "unchanged"
    assert json.loads(again.stdout)[0]["units"] == {"0": 1, "1": 2, "2": 3}

    names = tmp_path / "names.csv"
    names.write_text("name,parent\nLac,\nMamdi Nord,TCD07\n")
    out = runner.invoke(app, ["match", str(names), "--country", "TCD", "--level", "2", "--parent-column", "parent",
                              "--db", db_url, "--json"])
    assert [r["status"] for r in json.loads(out.stdout)] == ["unmatched", "review"]

    bad = runner.invoke(app, ["gazetteer", "load", str(tmp_path / "nope.geojson"), "--db", db_url])
    assert bad.exit_code == 2
    (tmp_path / "broken.geojson").write_text("{")
    broken = runner.invoke(app, ["gazetteer", "load", str(tmp_path / "broken.geojson"), "--db", db_url])
    assert broken.exit_code == 1 and "not valid JSON" in broken.output


def test_reviews_and_decide_commands(engine, db_url):
    import polars as pl

    from mobtrack import gazetteer
    from mobtrack.model.records import conform

    records = conform(pl.DataFrame({"admin_level": [1], "adm1_name": ["Lac Nord"], "source_row": [2], "value": [1]})
                      .with_columns(pl.lit("TCD").alias("country_iso3")))
    with engine.begin() as conn:
        gazetteer.load_bundled(conn, ["TCD"])
        gazetteer.resolve_places(conn, records, country_iso3="TCD", reporting_date=None, source_file_id=None,
                                 file_name="f.csv")
    listed = runner.invoke(app, ["gazetteer", "reviews", "--db", db_url, "--json"])
    (item,) = json.loads(listed.stdout)
    assert item["input_name"] == "Lac Nord"
    assert runner.invoke(app, ["gazetteer", "decide", str(item["id"]), "--db", db_url]).exit_code == 2
    decided = runner.invoke(app, ["gazetteer", "decide", str(item["id"]), "TD07", "--db", db_url, "--json"])
    assert json.loads(decided.stdout)["status"] == "accepted"
    assert json.loads(runner.invoke(app, ["gazetteer", "reviews", "--db", db_url, "--json"]).stdout) == []


def test_versions_command(engine, db_url):
    from mobtrack import gazetteer

    with engine.begin() as conn:
        gazetteer.load_bundled(conn, ["TCD", "CAF"])
    out = runner.invoke(app, ["gazetteer", "versions", "--country", "tcd", "--db", db_url, "--json"])
    (version,) = json.loads(out.stdout)
    assert version["country"] == "TCD" and version["version"] == "OCHA global p-codes"
    assert version["units"] == {"0": 1, "1": 23, "2": 70}


def test_match_many_names_in_steps(no_database):
    names = no_database / "many.csv"
    names.write_text("name\n" + "Mamdi\nWayi\n" * 1500)
    result = runner.invoke(app, ["match", str(names), "--country", "TCD", "--level", "2", "--json"])
    rows = json.loads(result.stdout)
    assert len(rows) == 3000 and {r["pcode"] for r in rows} == {"TD0701", "TD0702"}
