"""One small thread-safe LRU cache for the service layer (decoded blocks, protected tables, GeoJSON),
and `Sliced`, the shape in which big kept frames are read a few rows at a time.

Keys must say everything the value depends on (database URL, version ids, stamps): entries are never
invalidated, only evicted when the cache is over its limit.

A value is computed once however many requests ask for it at the same moment: the first computes,
the others wait for that key only (a forecast or a country's protected table takes seconds, and
twenty dashboard clients arriving together used to compute it twenty times over).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

import polars as pl

V = TypeVar("V")


class Sliced:
    """A kept frame sorted by `keys`, with the span of rows of each combination of their values.

    A request asks for a few combinations (one level and round of an operation's protected table,
    one level, group and unit of a figures block) and gets zero-copy slices of the frame, instead of
    filtering all of its rows (hundreds of thousands for an operation's 50 rounds) every time.
    """

    def __init__(self, frame: pl.DataFrame, keys: list[str]):
        self.keys = list(keys)
        self.frame = frame.sort(self.keys, maintain_order=True) if frame.height else frame
        start, self.spans = 0, {}
        for *values, n in self.frame.group_by(self.keys, maintain_order=True).len().iter_rows():
            self.spans[tuple(values)] = (start, n)
            start += n

    @property
    def height(self) -> int:
        return self.frame.height

    def rows(self, *wanted: tuple) -> pl.DataFrame:
        """The rows whose key values are one of `wanted` (tuples in the order of `keys`), in that order."""
        parts = [self.frame.slice(*self.spans[w]) for w in wanted if w in self.spans]
        if not parts:
            return self.frame.clear()
        return parts[0] if len(parts) == 1 else pl.concat(parts)


class LRU(Generic[V]):
    def __init__(self, limit: int, weight: Callable[[V], int] = lambda _: 1):
        self.limit, self.weight = limit, weight
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._total = 0
        self._lock = Lock()  # guards _items, _total and _computing; never held while computing
        self._computing: dict[Hashable, tuple[Lock, list[int]]] = {}  # key -> (its lock, waiter count)

    def _cached(self, key: Hashable) -> tuple[bool, V | None]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True, self._items[key]
        return False, None

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        found, value = self._cached(key)
        if found:
            return value  # type: ignore[return-value]
        with self._lock:
            key_lock, users = self._computing.setdefault(key, (Lock(), [0]))
            users[0] += 1
        try:
            with key_lock:  # one computation per key; other keys go on meanwhile
                found, value = self._cached(key)
                if found:
                    return value  # type: ignore[return-value]
                # if compute raises, the next waiter computes in its turn
                value = compute()
                self._store(key, value)
                return value
        finally:
            with self._lock:
                users[0] -= 1
                if not users[0]:
                    del self._computing[key]

    def _store(self, key: Hashable, value: V) -> None:
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._total += self.weight(value)
            # keep at least the newest entry, however heavy
            while self._total > self.limit and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._total -= self.weight(old)
