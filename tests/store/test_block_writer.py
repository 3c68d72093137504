"""Blocks encoded in the background (what an import does) are stored exactly as blocks encoded in place."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime

import polars as pl
import pytest
from sqlalchemy import func, insert, select

from mobtrack.store import block_writer, rounds
from mobtrack.store.schema import block, source_file


def _rounds(conn, n: int) -> tuple[int, list[int]]:
    fid = conn.execute(insert(source_file).values(name="f.csv", sha256="0" * 64, size=1, format="csv",
                                                  imported_at=datetime.now(UTC)).returning(source_file.c.id)).scalar_one()
    op = rounds.operation_id(conn, "Op", "NGA")
    return fid, [rounds.round_id(conn, op, "BA", k) for k in range(1, n + 1)]


def _version(rid: int, k: int) -> rounds.NewVersion:
    obs = pl.DataFrame({"location_id": [3, None, 1, k], "admin_level": [2, None, 1, 2], "value": [5, 6, None, k]})
    figures = pl.DataFrame({"location_id": list(range(2_000)), "value": [k] * 2_000})  # a compressed-buffers block
    return rounds.NewVersion(rid, obs, figures, rounds.RoundMeta(date(2024, k, 28), None, None), "d" * 64, None)


def _blocks(conn) -> int:
    return conn.execute(select(func.count()).select_from(block)).scalar_one()


def test_blocks_written_in_the_background_read_back_identical(engine):
    with engine.begin() as conn:
        fid, rids = _rounds(conn, 3)
        with block_writer.in_background(conn):
            [(v1, _)] = rounds.write_versions(conn, fid, [_version(rids[0], 1)])
            assert _blocks(conn) == 0  # still being encoded
            # a read on the connection inserts what is pending first
            assert rounds.read_figures(conn, v1).equals(_version(rids[0], 1).figures)
            written = rounds.write_versions(conn, fid, [_version(rids[1], 2), _version(rids[2], 3)])
            assert _blocks(conn) == 2  # the next write inserted nothing more yet: its own blocks are pending
        assert _blocks(conn) == 6  # all inserted when the block ended
        assert block_writer.writer_of(conn) is None
        for (vid, _), k in zip(written, (2, 3), strict=True):
            expected = _version(0, k)
            assert rounds.read_observations(conn, vid).equals(
                expected.observations.sort("location_id", nulls_last=True, maintain_order=True))
            assert rounds.read_figures(conn, vid).equals(expected.figures)


def test_a_failed_import_leaves_no_pending_block(engine):
    with engine.connect() as conn:
        trans = conn.begin()
        fid, [rid] = _rounds(conn, 1)
        with pytest.raises(RuntimeError), block_writer.in_background(conn):
            rounds.write_versions(conn, fid, [_version(rid, 1)])
            raise RuntimeError("stop")
        assert _blocks(conn) == 0 and block_writer.writer_of(conn) is None
        trans.rollback()


def test_a_frame_being_encoded_can_be_read_meanwhile():
    # The importer reads a round's figures (the next round's previous figures) while they are encoded:
    # when the worker wrote the frame object itself, each waited for the other for ever. In a child
    # process, so that a hang fails the test instead of the suite.
    script = """
import polars as pl
from mobtrack.store.block_writer import BlockWriter
big = pl.DataFrame({"location_id": range(400_000), "name": [f"place {i}" for i in range(400_000)]})
writer = BlockWriter()
for seq in range(5):
    [encoded] = writer.encode_all([big])
    writer.add(1, "figures", seq, big.height, encoded)
    for _ in range(20):
        big.select("location_id", "name").height
assert all(len(job.result()) > 0 for *_, job in writer.pending)
writer.executor.shutdown()
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
