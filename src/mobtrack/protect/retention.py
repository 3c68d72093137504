"""Automatic retention purge while the server runs: `purge_expired` at start, then every few hours.

Retention dates are promises made in data-sharing agreements; a promise kept only when someone
remembers to run `mobtrack protect purge` from cron is not kept. `mobtrack serve` starts one
`PurgeSchedule` in its own process (not in each worker, which would race one another); each purge
is written to the audit log by `purge_expired`, and a failure is logged and retried next time
rather than stopping the server.
"""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy import Engine

from mobtrack.protect import ledger  # noqa: F401  (registers the dp_release purger)
from mobtrack.protect.agreements import purge_expired

log = logging.getLogger(__name__)
DEFAULT_HOURS = 6.0


def interval_hours(value: str | None = None) -> float:
    """MOBTRACK_PURGE_EVERY_HOURS (default 6; 0 turns the schedule off, for a site that purges from cron)."""
    raw = os.environ.get("MOBTRACK_PURGE_EVERY_HOURS") if value is None else value
    if raw in (None, ""):
        return DEFAULT_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1
    if not hours >= 0:  # also refuses nan
        raise ValueError(f"MOBTRACK_PURGE_EVERY_HOURS must be 0 (off) or positive, not {raw!r}")
    return hours


class PurgeSchedule:
    """A daemon thread: purge now, then every `hours`; `stop()` ends it at the next wake-up."""

    def __init__(self, engine: Engine, hours: float):
        self.engine = engine
        self.seconds = hours * 3600
        self.runs = 0
        self.purged: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mobtrack-retention", daemon=True)

    def start(self) -> PurgeSchedule:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 5) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run_once(self) -> list[dict]:
        try:
            done = purge_expired(self.engine, by="retention-schedule")
        except Exception:  # keep serving; the next run tries again and the log says why
            log.exception("retention purge failed")
            done = []
        self.runs += 1
        self.purged += done
        if done:
            log.warning("retention purge: %d rule(s) applied", len(done))
        return done

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.seconds)


def start(engine: Engine, hours: float | None = None) -> PurgeSchedule | None:
    hours = interval_hours() if hours is None else hours
    return PurgeSchedule(engine, hours).start() if hours > 0 else None
