"""Encoding a round version's blocks in a worker thread while the import goes on.

Compressing a 40,000-row round's blocks is ~10% of a large import's main thread (zstd, in Arrow's
IPC writer), and Polars releases the GIL while it encodes: on a second core it overlaps the next
rounds' matching, checking and rolling up. An importer opts in for its connection with
`in_background(conn)`; every other caller of `rounds.write_versions` encodes in place as before.

The blocks of a batch of versions are inserted into the same transaction when the next batch is
written, before any block is read on that connection (`flush`), and when the `with` block ends
normally. Memory grows by one batch's encoded blocks at most.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import polars as pl
from sqlalchemy import Connection

from mobtrack.store import blocks
from mobtrack.store.bulk import insert_rows
from mobtrack.store.schema import block

BLOCK_COLUMNS = ["round_version_id", "kind", "seq", "rows", "payload"]
_KEY = "mobtrack.block_writer"  # in Connection.info: the writer in force for that connection


class BlockWriter:
    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mobtrack-blocks")
        self.pending: list[tuple[int, str, int, int, EncodedBlock]] = []

    def encode_all(self, frames: list[pl.DataFrame]) -> list[EncodedBlock]:
        """Start encoding blocks whose versions are not written yet (see `add`), as one job: submitting
        a job costs ~50 us of the importer's thread, as much as encoding a small block (a
        flow-monitoring file has 892 of them)."""
        # Clones (no copy of the data): Polars locks a DataFrame object while it writes it, and the
        # writer waits for the GIL to put bytes into its buffer; the importer may meanwhile read the
        # same frame (a round's figures are the next round's previous figures), holding the GIL and
        # waiting for that lock: a deadlock.
        job = self.executor.submit(_encode_all, [frame.clone() for frame in frames])
        return [EncodedBlock(job, i) for i in range(len(frames))]

    def add(self, version_id: int, kind: str, seq: int, rows: int, encoded: EncodedBlock) -> None:
        """A block being encoded (`encode_all`), now that its version is written: inserted at the next flush."""
        self.pending.append((version_id, kind, seq, rows, encoded))

    def flush(self, conn: Connection) -> None:
        """Insert every submitted block (waiting for those still being encoded)."""
        pending, self.pending = self.pending, []
        if pending:
            insert_rows(conn, block, BLOCK_COLUMNS, [(vid, kind, seq, n, f.result()) for vid, kind, seq, n, f in pending])


class EncodedBlock:
    """One block of a job that encodes several (`encode_all`): its payload, as a Future's `result()`."""

    __slots__ = ("index", "job")

    def __init__(self, job: Future, index: int):
        self.job, self.index = job, index

    def result(self) -> bytes:
        return self.job.result()[self.index]


def _encode_all(frames: list[pl.DataFrame]) -> list[bytes]:
    return [blocks.encode(frame) for frame in frames]


def writer_of(conn: Connection) -> BlockWriter | None:
    return conn.info.get(_KEY)


def flush(conn: Connection) -> None:
    """Insert the blocks still pending on `conn` (none when it has no background writer)."""
    writer = writer_of(conn)
    if writer is not None:
        writer.flush(conn)


@contextmanager
def in_background(conn: Connection) -> Iterator[BlockWriter]:
    """Encode the blocks written on `conn` in a worker thread until the block ends; they are all
    inserted when it ends normally (on an exception the caller rolls the transaction back)."""
    writer = BlockWriter()
    conn.info[_KEY] = writer
    try:
        yield writer
        writer.flush(conn)
    finally:
        conn.info.pop(_KEY, None)
        writer.executor.shutdown(wait=True, cancel_futures=True)
