"""A file's batches on their way into the pipeline: read one ahead in a thread, and split into
the runs of rows that share a key (a country, a round)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import polars as pl

T = TypeVar("T")


def read_ahead(batches: Iterator[T], meanwhile: Callable[[], object] | None = None) -> Iterator[T]:
    """The same batches, the next one read in a thread while the caller works on the current one.

    Adapters never touch the database and Polars parses without the GIL, so on a machine with two
    cores the reading of a file overlaps its matching, checking and storing. One batch is read ahead:
    memory grows by one batch at most. An adapter's exception is raised here, at the batch it stopped at.
    `meanwhile`: the caller's own preparation, run (in the caller's thread) while the first batch is read.
    """
    done = object()
    slot: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        slot.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slot.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            slot.put((done, exc))

    worker = threading.Thread(target=produce, name="mobtrack-read-ahead", daemon=True)
    worker.start()
    try:
        if meanwhile is not None:
            meanwhile()
        while True:
            item, error = slot.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let the reader see the stop flag (it may be waiting to put a batch)
            try:
                slot.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def runs(records: pl.DataFrame, by: list[str]) -> Iterator[tuple[tuple, pl.DataFrame]]:
    """`records.group_by(by, maintain_order=True)` as (key tuple, rows) pairs. A file is usually
    grouped by round and country, so a batch is a few runs of rows with the same key: then each
    group is a slice of the batch (no copy), found with one pass comparing neighbours rather than
    hashing every row and gathering each group's rows."""
    runs = records.select(pl.struct(by).rle().alias("_run")).unnest("_run")
    keys = runs.select(pl.col("value").struct.unnest())
    if keys.is_duplicated().any():  # a key comes back later in the batch: group it
        yield from ((tuple(key), part) for key, part in records.group_by(by, maintain_order=True))
        return
    offset = 0
    for length, key in zip(runs["len"].to_list(), keys.rows(), strict=True):
        yield key, records.slice(offset, length)
        offset += length
