"""docs/walkthrough.md runs as written: every `$ mobtrack ...` line, in order, in a fresh folder."""

import json
import re
import shlex
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mobtrack.cli import app

DOC = Path(__file__).resolve().parent.parent / "docs" / "walkthrough.md"


def commands():
    return [shlex.split(line[2:]) for line in re.findall(r"^\$ mobtrack .*$", DOC.read_text(), re.M)]


@pytest.fixture
def folder(tmp_path, monkeypatch, db_url):
    monkeypatch.chdir(tmp_path)
    pl.DataFrame({"name": ["Borama", "Hargeysa", "Mogadishu?"], "region": ["Awdal", "SO12", "Banadir"]}).write_csv(
        tmp_path / "names.csv")
    return tmp_path


def test_the_walkthrough_runs_as_written(folder, db_url):
    runner = CliRunner()
    outputs = {}
    for argv in commands():
        argv = [a for a in argv[1:]]
        if "--db" in argv:  # the doc uses a SQLite file; the suite may run on PostgreSQL
            argv[argv.index("--db") + 1] = db_url
        if argv[0] in {"validate", "import"}:
            _export_last_round(folder, db_url)
        result = runner.invoke(app, argv)
        outputs[argv[0]] = result
        expected = {0} if argv[0] not in {"validate"} else {0, 1}
        assert result.exit_code in expected, (argv, result.output)
    latest = json.loads(outputs["figures"].stdout)
    assert [f["round"] for f in latest] == [12]
    matches = json.loads(outputs["match"].stdout)
    assert [m["pcode"] for m in matches][:2] == ["SO1101", "SO1201"]


def _export_last_round(folder, db_url):
    """The walkthrough's `demo_round.csv`: the demo's last round as mobtrack CSV."""
    from mobtrack.demo import demo_records
    from mobtrack.synthetic import write_csv

    records = demo_records().filter(pl.col("round_number") == 12)
    write_csv(records, folder / "demo_round.csv")
