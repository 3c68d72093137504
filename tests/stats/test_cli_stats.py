"""The stats commands: JSON on stdout only, exit 0 ok, 1 rejected work, 2 usage errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mobtrack.cli import app
from tests.stats.conftest import write

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_load_profile_od_consistency(db_url, files):
    r = run("stats", "load", *files.values(), "--db", db_url, "--json")
    assert r.exit_code == 0, r.output
    statuses = {x["file"]: x["status"] for x in json.loads(r.stdout)}
    assert set(statuses.values()) == {"loaded"} and len(statuses) == 6
    again = run("stats", "load", files["undesa"], "--db", db_url, "--json")
    assert json.loads(again.stdout)[0]["status"] == "unchanged"

    p = json.loads(run("profile", "DEU", "--year", "2020", "--db", db_url, "--json").stdout)
    fig = p["figures"]["immigrant_stock"]
    assert {"value", "year", "source", "definition", "ref"} <= set(fig) and fig["value"] == 1547

    m = json.loads(run("od", "--source", "undesa", "--country", "TUR", "--top", "1", "--db", db_url, "--json").stdout)
    assert m == [{"origin": "SYR", "destination": "TUR", "value": 4100.0, "source": "undesa:2020", "period": "2020"}]

    c = json.loads(run("stats", "consistency", "--db", db_url, "--json").stdout)
    assert c["rows"] and c["checks"]

    rep = run("stats", "crosswalk-report", "--db", db_url, "--json")
    assert rep.exit_code == 0 and json.loads(rep.stdout)["unmapped_total"] == 0


def test_usage_errors_exit_2(db_url, files, tmp_path):
    assert run("stats", "load", tmp_path / "nope.csv", "--db", db_url).exit_code == 2
    assert run("stats", "load", files["undesa"], "--source", "oecd", "--db", db_url).exit_code == 2
    assert run("od", "--source", "nope", "--db", db_url).exit_code == 2
    assert run("profile", "Atlantis", "--db", db_url).exit_code == 2
    assert run("od", "--source", "undesa", "--from", "yesterday", "--db", db_url).exit_code == 2


def test_rejected_work_exits_1(db_url, tmp_path):
    junk = write(tmp_path / "junk.csv", "a,b\n1,2\n")
    r = run("stats", "load", junk, "--db", db_url, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)[0]["status"] == "rejected"
    assert run("od", "--source", "undesa", "--db", db_url).exit_code == 1  # nothing loaded yet


def test_crosswalk_report_lists_what_it_cannot_map(tmp_path):
    f = write(tmp_path / "undesa.csv", "geo,t,from,sex,n\nDEU,2020,SYR,male,1\nDEU,2020,ZZZ,male,2\nDEU,2020,OOO,male,3\n")
    r = run("stats", "crosswalk-report", f, "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)["files"][0]
    assert out["unmapped"] == [{"column": "from", "value": "ZZZ", "rows": 1, "first_row": 3,
                                "reason": "country 'ZZZ' not in the crosswalk: no iso3 entry in the crosswalk"}]
    assert [e["code"] for e in out["non_country"]] == ["UNK"] and out["non_country"][0]["reason"]


def test_crosswalk_report_from_the_store_lists_rejected_codes(db_url, tmp_path):
    f = write(tmp_path / "undesa.csv", "geo,t,from,sex,n\nDEU,2020,SYR,male,1\nDEU,2020,ZZZ,male,2\n")
    load = run("stats", "load", f, "--db", db_url, "--json")
    assert load.exit_code == 0 and json.loads(load.stdout)[0]["rejected_rows"] == 1
    r = run("stats", "crosswalk-report", "--db", db_url, "--json")
    assert r.exit_code == 1
    assert [(u["value"], u["first_row"]) for u in json.loads(r.stdout)["files"][0]["unmapped"]] == [("ZZZ", 3)]
    text = run("stats", "crosswalk-report", "--db", db_url)
    assert "ZZZ" in text.output and "unmapped" in text.output


def test_rows_behind_a_figure(db_url, files):
    run("stats", "load", files["undesa"], "--db", db_url)
    ref = json.loads(run("profile", "DEU", "--db", db_url, "--json").stdout)["figures"]["immigrant_stock"]["ref"]
    r = run("stats", "rows", ref["release"], ref["rows"], "--db", db_url, "--json")
    facts = json.loads(r.stdout)
    assert [f["row"] for f in facts] == [6, 7, 8, 9, 10] and sum(f["value"] for f in facts) == 1547
    assert run("stats", "rows", ref["release"], "a-b", "--db", db_url).exit_code == 2
    assert run("stats", "rows", ref["release"], "999", "--db", db_url).exit_code == 1


def test_od_change_between_years(db_url, files):
    run("stats", "load", files["undesa"], "--db", db_url)
    r = run("od", "--source", "undesa", "--change-from", "2015", "--top", "2", "--db", db_url, "--json")
    rows = json.loads(r.stdout)
    assert [(x["origin"], x["destination"], x["before"], x["after"], x["change"]) for x in rows] == [
        ("SYR", "TUR", 0.0, 4100.0, 4100.0), ("SYR", "DEU", 250.0, 900.0, 650.0)]
    assert rows[0]["period"] == "2015->2020"
    assert run("od", "--source", "undesa", "--net", "--change-from", "2015", "--db", db_url).exit_code == 2
