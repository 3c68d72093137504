"""One small thread-safe LRU cache for the service layer (decoded blocks, protected tables, GeoJSON).

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

V = TypeVar("V")


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
