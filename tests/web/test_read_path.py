"""The read path's shortcuts give what the plain operations give: slices of a kept frame equal a filter,
and a pooled connection is checked on checkout only after it sat idle."""

from __future__ import annotations

import random
import time

import polars as pl
import pytest
from sqlalchemy.exc import DisconnectionError

from mobtrack.store.db import PING_AFTER_IDLE, _ping_if_idle
from mobtrack.web.services.cache import Sliced


def test_slices_of_a_kept_frame_equal_filtering_it_in_the_order_asked():
    rng = random.Random(7)
    frame = pl.DataFrame({"admin_level": [rng.randint(0, 3) for _ in range(500)],
                          "round": [rng.choice([1, 2, 5, 9]) for _ in range(500)],
                          "value": list(range(500))}, schema={"admin_level": pl.Int8, "round": pl.Int64,
                                                              "value": pl.Int64})
    kept = Sliced(frame, ["admin_level", "round"])
    for _ in range(50):
        wanted = [(rng.randint(0, 4), rng.choice([1, 2, 5, 9, 11])) for _ in range(rng.randint(1, 3))]
        wanted = list(dict.fromkeys(wanted))
        expected = pl.concat([frame.filter(pl.col("admin_level") == lvl, pl.col("round") == r) for lvl, r in wanted])
        # rows of one key keep the frame's order; keys come in the order asked; absent keys give nothing
        assert kept.rows(*wanted).equals(expected)
    assert kept.rows((7, 7)).is_empty() and kept.rows((7, 7)).schema == frame.schema
    assert Sliced(frame.clear(), ["round"]).rows((1,)).is_empty()


class _Dialect:
    def __init__(self, fails: bool):
        self.fails, self.pings = fails, 0

    def do_ping(self, _connection):
        self.pings += 1
        if self.fails:
            raise OSError("server closed the connection unexpectedly")
        return True


class _Record:
    def __init__(self, idle_for: float | None):
        self.info = {} if idle_for is None else {"idle_since": time.monotonic() - idle_for}


def test_a_connection_used_a_moment_ago_is_not_pinged():
    dialect = _Dialect(fails=True)
    _ping_if_idle(dialect, object(), _Record(idle_for=0.0))
    _ping_if_idle(dialect, object(), _Record(idle_for=None))  # just opened
    assert dialect.pings == 0


def test_an_idle_connection_is_pinged_and_a_dead_one_is_replaced():
    alive = _Dialect(fails=False)
    _ping_if_idle(alive, object(), _Record(idle_for=PING_AFTER_IDLE + 1))
    assert alive.pings == 1
    with pytest.raises(DisconnectionError):  # the pool discards it and checks out another
        _ping_if_idle(_Dialect(fails=True), object(), _Record(idle_for=PING_AFTER_IDLE + 1))


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced_on_postgresql(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (SQLite connections are files, never dropped)")
    from sqlalchemy import text

    from mobtrack.store.db import get_engine

    engine = get_engine(db_url)
    with engine.connect() as other:  # held open, so the first connection is a different one
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})  # now idle in the pool
        other.commit()
    time.sleep(PING_AFTER_IDLE + 0.2)
    for _ in range(2):  # whichever pooled connection comes out, the query runs
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
