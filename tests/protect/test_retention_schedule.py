"""The server purges what is past its retention date by itself, and logs it."""

from __future__ import annotations

import time
from datetime import date

import polars as pl
import pytest

import mobtrack.protect.tables  # noqa: F401  (registers the tables on the shared metadata)
from mobtrack.protect import agreements, auditlog, ledger, retention
from mobtrack.protect.cube import TableSpec

PLACES = pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A2"]})
SPEC = TableSpec(hierarchy=["adm1", "adm2"], round="round")
FRAME = pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A2"], "round": [1, 1], "value": [12, 3]})


def _expired_release(engine):
    ledger.set_budget(engine, "old", 5, by="ana")
    ledger.release(engine, dataset="old", frame=FRAME, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")
    agreements.add_retention(engine, dataset="old", kind="dp_release", delete_after=date(2020, 1, 1),
                             reason="agreement ended", by="ana")


def test_schedule_purges_at_start_and_logs_it(engine):
    _expired_release(engine)
    schedule = retention.start(engine, hours=1)
    try:
        deadline = time.monotonic() + 10
        while schedule.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        schedule.stop()
    assert schedule.purged == [{"rule": 1, "dataset": "old", "kind": "dp_release", "rows": 1}]
    purges = [e for e in auditlog.entries(engine) if e["action"] == "retention.purge"]
    assert [e["actor"] for e in purges] == ["retention-schedule"]
    assert auditlog.verify(engine).ok
    with pytest.raises(LookupError, match="purged"):
        ledger.release(engine, dataset="old", frame=FRAME, spec=SPEC, places=PLACES, epsilon=1.0, by="ana")


def test_a_failing_purge_does_not_stop_the_schedule(engine, monkeypatch):
    calls = []

    def broken(engine, **kwargs):
        calls.append(1)
        raise RuntimeError("database away")

    monkeypatch.setattr(retention, "purge_expired", broken)
    schedule = retention.PurgeSchedule(engine, hours=1)
    assert schedule.run_once() == [] and schedule.run_once() == []
    assert len(calls) == 2 and schedule.runs == 2


@pytest.mark.parametrize(("raw", "hours"), [(None, retention.DEFAULT_HOURS), ("", retention.DEFAULT_HOURS),
                                            ("0", 0.0), ("0.5", 0.5), ("24", 24.0)])
def test_interval_from_the_environment(monkeypatch, raw, hours):
    if raw is None:
        monkeypatch.delenv("MOBTRACK_PURGE_EVERY_HOURS", raising=False)
    else:
        monkeypatch.setenv("MOBTRACK_PURGE_EVERY_HOURS", raw)
    assert retention.interval_hours() == hours


@pytest.mark.parametrize("raw", ["-1", "soon", "nan"])
def test_interval_refuses_nonsense(raw):
    with pytest.raises(ValueError, match="MOBTRACK_PURGE_EVERY_HOURS"):
        retention.interval_hours(raw)


def test_zero_hours_starts_nothing(engine):
    assert retention.start(engine, hours=0) is None
