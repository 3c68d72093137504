from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from mobtrack.cli import app

runner = CliRunner()


def test_suppress_command_writes_a_protected_table(tmp_path):
    src = tmp_path / "counts.csv"
    pl.DataFrame({"adm1": ["A", "A", "B"], "adm2": ["A1", "A2", "B1"], "value": [4, 50, 60]}).write_csv(src)
    out = tmp_path / "public.csv"
    result = runner.invoke(app, ["protect", "suppress", str(src), "--levels", "adm1,adm2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["primary"] == 1 and summary["suppressed"] >= 2
    table = pl.read_csv(out)
    assert table.filter(pl.col("adm2") == "A1")["value"][0] is None


def test_suppress_command_usage_errors_exit_2(tmp_path):
    src = tmp_path / "counts.csv"
    pl.DataFrame({"adm1": ["A"], "value": [4]}).write_csv(src)
    result = runner.invoke(app, ["protect", "suppress", str(src), "--levels", "adm1,adm9"])
    assert result.exit_code == 2 and "adm9" in result.output


def test_risk_command_fails_risky_files(tmp_path):
    src = tmp_path / "hh.csv"
    pl.DataFrame({"district": ["a", "a", "b"], "sex": ["f", "m", "f"]}).write_csv(src)
    result = runner.invoke(app, ["protect", "risk", str(src), "--qi", "district,sex", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["k"] == 1


def test_audit_verify_and_export(db_url, tmp_path):
    r = runner.invoke(app, ["protect", "agreement", "--org", "NGO", "--purpose", "planning", "--datasets", "op:1/*",
                            "--expires", "2999-01-01", "--db", db_url, "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["protect", "budget", "op:1/idps", "--epsilon", "3", "--db", db_url, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["budget"] == 3
    r = runner.invoke(app, ["protect", "classify", "op:1/field:phone", "--as", "sensitive", "--db", db_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["protect", "classify", "op:1", "--as", "secret", "--db", db_url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["audit", "verify", "--db", db_url, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["entries"] == 3
    out = tmp_path / "audit.jsonl"
    r = runner.invoke(app, ["audit", "export", "--out", str(out), "--db", db_url])
    assert r.exit_code == 0
    actions = [json.loads(line)["action"] for line in out.read_text().splitlines()]
    assert actions == ["agreement.create", "dp.budget", "classify"]


def test_dp_release_command_spends_once(db_url, tmp_path):
    counts, places = tmp_path / "r1.csv", tmp_path / "places.csv"
    pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A2"], "sex": ["f", "m"], "round": [1, 1],
                  "value": [30, 4]}).write_csv(counts)
    pl.DataFrame({"adm1": ["A", "A", "B"], "adm2": ["A1", "A2", "B1"]}).write_csv(places)
    assert runner.invoke(app, ["protect", "budget", "op:1", "--epsilon", "1", "--db", db_url]).exit_code == 0
    args = ["protect", "dp", str(counts), "--dataset", "op:1", "--levels", "adm1,adm2", "--places", str(places),
            "--by", "sex=f,m", "--round", "round", "--epsilon", "1", "--db", db_url, "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    meta = json.loads(first.stdout)
    assert meta["epsilon"] == 1 and meta["privacy_unit"] == "one person per round" and not meta["reused"]
    again = json.loads(runner.invoke(app, args).stdout)
    assert again["reused"] and again["table"] == meta["table"]
    other = runner.invoke(app, [*args[:-5], "--epsilon", "0.5", "--db", db_url])
    assert other.exit_code == 1 and "budget" in other.output
    bad = runner.invoke(app, [*args[:9], "--by", "sex", *args[11:]])
    assert bad.exit_code == 2
