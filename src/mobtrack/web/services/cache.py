"""One small thread-safe LRU cache for the service layer (decoded blocks, protected tables, GeoJSON).

Keys must say everything the value depends on (database URL, version ids, stamps): entries are never
invalidated, only evicted when the cache is over its limit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    def __init__(self, limit: int, weight: Callable[[V], int] = lambda _: 1):
        self.limit, self.weight = limit, weight
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._total = 0
        self._lock = Lock()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()  # outside the lock: a slow computation must not block other readers
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._total += self.weight(value)
            # keep at least the newest entry, however heavy
            while self._total > self.limit and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._total -= self.weight(old)
        return value
