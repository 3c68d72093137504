"""`mobtrack formats`: the format list and what a file would be read as."""

from __future__ import annotations

import json

from tests.ingest.synthetic import HEADER, TAGS, district_rows, write_csv
from typer.testing import CliRunner

from mobtrack.cli import app


def test_formats_lists_adapters_and_bundled_mappings():
    result = CliRunner().invoke(app, ["formats", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {"hxl", "dtm-kobo", "mapping"} <= {f["name"] for f in data["formats"]}
    assert any(m["name"] == "dtm-mobility-tracking-locations.yaml" for m in data["mappings"])


def test_formats_says_how_a_file_would_be_read(tmp_path):
    tagged = write_csv(tmp_path / "ken_baseline_round_1.csv", [HEADER, TAGS, *district_rows()])
    result = CliRunner().invoke(app, ["formats", "--json", str(tagged)])
    assert result.exit_code == 0 and json.loads(result.stdout)["format"] == "hxl"
    plain = write_csv(tmp_path / "plain.csv", [["Region", "People"], ["A", 1]])
    result = CliRunner().invoke(app, ["formats", "--json", str(plain)])
    assert result.exit_code == 1 and json.loads(result.stdout)["format"] is None
