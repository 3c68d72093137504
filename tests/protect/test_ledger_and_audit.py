from __future__ import annotations

import io
import json
from datetime import date, timedelta

import polars as pl
import pytest
from sqlalchemy import text

import mobtrack.protect.tables  # noqa: F401  (registers the tables on the shared metadata)
from mobtrack.protect import agreements, auditlog, ledger
from mobtrack.protect.cube import TableSpec

PLACES = pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A2"]})
SPEC = TableSpec(hierarchy=["adm1", "adm2"], round="round")
FRAME = pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A2"], "round": [1, 1], "value": [12, 3]})


def test_same_question_same_answer_and_budget_refusal(engine):
    with pytest.raises(ledger.BudgetExceeded, match="no privacy budget"):
        ledger.release(engine, dataset="d", frame=FRAME, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")
    ledger.set_budget(engine, "d", 1.5, by="ana")
    first = ledger.release(engine, dataset="d", frame=FRAME, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")
    again = ledger.release(engine, dataset="d", frame=FRAME, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")
    assert again.reused and again.id == first.id and again.table.equals(first.table)
    assert ledger.budget_status(engine, "d")["spent"] == 1.0
    round2 = FRAME.with_columns(pl.lit(2).alias("round"))
    with pytest.raises(ledger.BudgetExceeded, match="would spend 2"):
        ledger.release(engine, dataset="d", frame=round2, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")
    ok = ledger.release(engine, dataset="d", frame=round2, spec=SPEC, places=PLACES, epsilon=0.5, by="ana")
    assert ok.metadata()["epsilon"] == 0.5 and ok.metadata()["privacy_unit"] == "one person per round"
    with pytest.raises(ledger.BudgetExceeded, match="cannot go below"):
        ledger.set_budget(engine, "d", 1.0, by="ana")


def test_audit_chain_verifies_and_detects_tampering(engine):
    for i in range(3):
        auditlog.record(engine, actor="ana", organisation="IOM", action="read", target=f"op:1/r{i}",
                        purpose="planning", origin="10.0.0.1")
    assert auditlog.verify(engine).ok and auditlog.verify(engine).entries == 3
    out = io.StringIO()
    assert auditlog.export_jsonl(engine, out) == 3
    first = json.loads(out.getvalue().splitlines()[0])
    assert {"actor", "organisation", "action", "target", "at", "purpose", "origin", "hash"} <= set(first)
    # the database refuses edits and deletions
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE protect_audit_log SET actor = 'eve' WHERE id = 2"))
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM protect_audit_log WHERE id = 2"))


def test_verify_spots_an_altered_entry(engine):
    for i in range(3):
        auditlog.record(engine, actor="ana", action="read", target=f"t{i}")
    # someone with database rights drops the trigger and edits history
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER protect_audit_log_no_update"))
        else:
            conn.execute(text("DROP TRIGGER protect_audit_log_no_update ON protect_audit_log"))
        conn.execute(text("UPDATE protect_audit_log SET target = 'other' WHERE id = 2"))
    result = auditlog.verify(engine)
    assert not result.ok and result.first_bad_id == 2 and "altered" in result.problem


def test_audit_refuses_personal_values(engine):
    with pytest.raises(ValueError, match="personal"):
        auditlog.record(engine, actor="ana", action="read", target="t", details={"phone_number": "+265..."})


def test_agreements_gate_restricted_reads(engine):
    with pytest.raises(agreements.AccessDenied, match="no active data-sharing agreement"):
        agreements.authorise_read(engine, actor="bo", organisation="NGO", dataset="op:1/idps",
                                  sensitivity="restricted", purpose="response planning")
    aid = agreements.create_agreement(engine, partner_org="NGO", purpose="response planning",
                                      datasets=["op:1/*"], expires_on=date.today() + timedelta(days=30))
    found = agreements.authorise_read(engine, actor="bo", organisation="NGO", dataset="op:1/idps",
                                      sensitivity="restricted", purpose="response planning")
    assert found.id == aid
    with pytest.raises(agreements.AccessDenied):  # restricted agreement does not open sensitive data
        agreements.authorise_read(engine, actor="bo", organisation="NGO", dataset="op:1/idps",
                                  sensitivity="sensitive", purpose="x")
    with pytest.raises(agreements.AccessDenied, match="purpose"):
        agreements.authorise_read(engine, actor="bo", organisation="NGO", dataset="op:1/idps",
                                  sensitivity="restricted", purpose=None)
    assert agreements.active_agreement(engine, "NGO", "op:1/idps", "restricted",
                                       today=date.today() + timedelta(days=31)) is None
    agreements.revoke_agreement(engine, aid, by="admin")
    assert agreements.active_agreement(engine, "NGO", "op:1/idps", "restricted") is None
    actions = [e["action"] for e in auditlog.entries(engine)]
    assert actions.count("read") == 1 and "read.denied" in actions and "agreement.revoke" in actions
    assert auditlog.verify(engine).ok


def test_retention_purges_and_logs(engine):
    ledger.set_budget(engine, "old", 5, by="ana")
    ledger.release(engine, dataset="old", frame=FRAME, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")
    agreements.add_retention(engine, dataset="old", kind="dp_release", delete_after=date(2020, 1, 1),
                             reason="agreement ended", by="ana")
    done = agreements.purge_expired(engine)
    assert done == [{"rule": 1, "dataset": "old", "kind": "dp_release", "rows": 1}]
    assert agreements.purge_expired(engine) == []  # idempotent
    with pytest.raises(LookupError, match="purged"):
        ledger.release(engine, dataset="old", frame=FRAME, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")
    assert ledger.budget_status(engine, "old")["spent"] == 1.0  # the ledger still counts it
    assert "retention.purge" in [e["action"] for e in auditlog.entries(engine)]
    with pytest.raises(ValueError, match="no purger"):
        agreements.add_retention(engine, dataset="x", kind="nope", delete_after=date.today(), reason="", by="a")


def test_web_layer_entries_join_the_chain_in_the_callers_transaction(engine):
    from mobtrack.protect import audit

    with engine.begin() as conn:
        audit.append(conn, at="2026-11-28T06:00:00+00:00", user="ana", organisation="IOM", role="analyst",
                     via="session", action="read-unprotected", target="op/idps", purpose="planning",
                     client="10.0.0.9", details={})
    with pytest.raises(RuntimeError), engine.begin() as conn:  # the caller's change fails: no entry
        audit.append(conn, user="bo", action="publish", target="op/round 2")
        raise RuntimeError("publish failed")
    auditlog.record(engine, actor="cli", action="dp.budget", target="op")
    rows = list(auditlog.entries(engine))
    assert [r["actor"] for r in rows] == ["ana", "cli"]
    assert json.loads(rows[0]["details"]) == {"role": "analyst", "via": "session"} and rows[0]["origin"] == "10.0.0.9"
    assert auditlog.verify(engine).ok
