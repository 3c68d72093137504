"""Logins, uploads, publishing, exports and raw reads land in protect's hash-chained audit log."""

import io

from mobtrack.protect.auditlog import entries, verify
from tests.web.conftest import OPERATION, SOM, bearer, round_rows
from tests.web.test_auth import log_in


def actions(app):
    return [(e["action"], e["actor"]) for e in entries(app.state.engine)]


def test_sensitive_actions_are_audited_and_the_chain_verifies(client, store, app):
    log_in(client, store, "viewer")
    h = bearer(store, "manager")
    client.get(f"/api/v1/operations/{OPERATION}/figures", params={"level": 2, "purpose": "monthly report"},
               headers=bearer(store, "analyst"))
    client.get(f"/api/v1/operations/{OPERATION}/export", params={"format": "csv"})
    buf = io.BytesIO()
    round_rows(OPERATION, "SOM", SOM, 6, [100, 200, 300, 400]).write_csv(buf)
    up = client.post("/api/v1/imports", files={"file": ("r6.csv", io.BytesIO(buf.getvalue()), "text/csv")},
                     headers=h).json()["data"]
    client.post(f"/api/v1/imports/{up['upload']}/confirm", headers=h)
    client.post(f"/api/v1/operations/{OPERATION}/rounds/6/publish", headers=h)
    seen = actions(app)
    for wanted in [("login", "viewer-user"), ("read-unprotected", "analyst-user"), ("export", "viewer-user"),
                   ("upload", "manager-user"), ("import", "manager-user"), ("publish", "manager-user")]:
        assert wanted in seen, (wanted, seen)
    raw = next(e for e in entries(app.state.engine) if e["action"] == "read-unprotected")
    assert raw["purpose"] == "monthly report" and raw["organisation"] == "Test org"
    assert verify(app.state.engine).ok


def test_a_raw_read_served_from_the_cache_is_still_audited(client, store, app):
    params = {"level": 1, "round": 1}
    for _ in range(3):
        assert client.get(f"/api/v1/operations/{OPERATION}/figures", params=params,
                          headers=bearer(store, "admin")).status_code == 200
    reads = [a for a in actions(app) if a == ("read-unprotected", "admin-user")]
    assert len(reads) == 3
