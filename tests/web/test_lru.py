"""The service layer's cache: bounded, least recently used out first, one computation per key."""

import threading
import time

import pytest

from mobtrack.web.services.cache import LRU


def test_evicts_the_least_recently_used_entry_when_over_its_weight():
    cache: LRU[list] = LRU(5, weight=len)
    cache.get("a", lambda: [1, 2])
    cache.get("b", lambda: [1, 2])
    cache.get("a", lambda: pytest.fail("a is cached"))
    cache.get("c", lambda: [1, 2])  # 6 > 5: b, the least recently used, goes
    assert cache.get("a", lambda: ["recomputed"]) == [1, 2]
    assert cache.get("b", lambda: ["recomputed"]) == ["recomputed"]


def test_keeps_the_newest_entry_however_heavy():
    cache: LRU[list] = LRU(1, weight=len)
    cache.get("big", lambda: [0] * 10)
    assert cache.get("big", lambda: ["recomputed"]) == [0] * 10


def test_simultaneous_requests_for_one_key_compute_it_once():
    cache: LRU[int] = LRU(10)
    calls = []
    start = threading.Barrier(8)

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return 42

    results = []

    def ask():
        start.wait()
        results.append(cache.get("forecast", slow))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 8
    assert len(calls) == 1


def test_a_slow_key_does_not_hold_up_another_key():
    cache: LRU[int] = LRU(10)
    release = threading.Event()
    worker = threading.Thread(target=cache.get, args=("slow", lambda: release.wait(5) and 1))
    worker.start()
    began = time.perf_counter()
    assert cache.get("quick", lambda: 2) == 2
    assert time.perf_counter() - began < 1
    release.set()
    worker.join()


def test_a_failed_computation_is_not_cached_and_the_next_caller_retries():
    cache: LRU[int] = LRU(10)

    def boom():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cache.get("k", boom)
    assert cache.get("k", lambda: 7) == 7
    assert not cache._computing
