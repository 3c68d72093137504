"""`mobtrack user add/list/disable` and `mobtrack export` (public figures only)."""

import json

import polars as pl
from typer.testing import CliRunner

from mobtrack.cli import app
from tests.web.conftest import OPERATION, PASSWORD

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_user_add_list_disable(store):
    db = store["db_url"]
    r = run("user", "add", "cli-analyst", "--role", "analyst", "--org", "IOM", "--country", "SOM",
            "--password", PASSWORD, "--token", "--db", db, "--json")
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert made["totp_uri"].startswith("otpauth://totp/") and made["token"].startswith("mt_")
    users = json.loads(run("user", "list", "--db", db, "--json").stdout)
    row = next(u for u in users if u["username"] == "cli-analyst")
    assert row["scopes"] == ["country:SOM"] and row["active"] and row["two_factor"]
    assert run("user", "disable", "cli-analyst", "--db", db).exit_code == 0
    assert not next(u for u in json.loads(run("user", "list", "--db", db, "--json").stdout)
                    if u["username"] == "cli-analyst")["active"]


def test_weak_password_is_a_usage_error(store):
    r = run("user", "add", "weak-user", "--role", "viewer", "--org", "X", "--operation", "*", "--password",
            "password123456789", "--db", store["db_url"])
    assert r.exit_code == 2 and "weak" in r.output


def test_export_writes_only_public_protected_figures(store, tmp_path):
    out = tmp_path / "f.csv"
    r = run("export", "--operation", OPERATION, "--level", 2, "--round", 1, "-o", out, "--db", store["db_url"])
    assert r.exit_code == 0, r.output
    frame = pl.read_csv(out)
    assert frame.filter(pl.col("pcode") == "SO1102")["value"].to_list() == [None]
    assert run("export", "--operation", OPERATION, "--round", 2, "-o", out, "--db", store["db_url"]).exit_code == 1
