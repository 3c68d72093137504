"""Reading a big CSV (plain or gzipped) in blocks of whole records, and working on two blocks at once.

The flow-monitoring adapter sums each block into cells as soon as it is read, so that memory holds
the cells rather than the rows. The work on a block is almost all Polars, which runs without the
GIL: two blocks summed in two threads use both cores of a small machine, where one at a time left
one core idle (Polars parallelises little within a block of a few megabytes).
"""

from __future__ import annotations

import gzip
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def head_text(head: bytes) -> str:
    """The header line of a file that starts with `head` (decompressed first when gzipped)."""
    if head[:2] == b"\x1f\x8b":  # gzip: the adapter sniffs the decompressed header line
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 65536)
        except zlib.error:
            return ""
    return head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip()


def line_chunks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """Blocks of a plain or gzipped CSV file, in bounded memory: each is a CSV text of its own, the
    header line then complete records.

    A block ends at a newline outside quotes (an even number of quote characters before it), so a
    quoted field holding a line break never splits across blocks. Each block is put together in one
    copy: slicing and joining the read (a few MB) in steps cost a copy each, and as many page faults
    as copies (~40% of this function's CPU)."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
        header = fh.readline()
        rest = b""  # the start of a record whose end is not read yet
        while True:
            block = fh.read(chunk_bytes)
            if not block:
                if rest.strip():
                    yield b"".join((header, rest, b"" if rest.endswith(b"\n") else b"\n"))
                return
            cut = block.rfind(b"\n")
            # most exports quote nothing: no need to count quotes (~8 ms a chunk)
            quoted = b'"' in block or b'"' in rest
            while quoted and cut >= 0 and (rest.count(b'"') + block.count(b'"', 0, cut)) % 2:
                cut = block.rfind(b"\n", 0, cut)
            if cut < 0:
                rest += block
                continue
            yield b"".join((header, rest, memoryview(block)[:cut + 1]))
            rest = block[cut + 1:]


def map_in_order(work: Callable[[T], R], items: Iterable[T], threads: int = 2) -> Iterator[R]:
    """`work(item)` for each item, in the items' order, `threads` items at a time.

    At most `threads` items are worked on at once and one more is read: memory grows with the number
    of threads, not with the number of items. An exception from `work` is raised at its item, after
    the results of the items before it."""
    if threads <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="mobtrack-chunk") as pool:
        running: deque = deque()
        try:
            for item in items:
                running.append(pool.submit(work, item))
                if len(running) >= threads:
                    yield running.popleft().result()
            while running:
                yield running.popleft().result()
        finally:
            for future in running:  # stopped early (an error, or the caller gave up): drop what is queued
                future.cancel()
