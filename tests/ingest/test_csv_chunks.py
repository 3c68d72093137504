"""Working on two chunks at once: results in the chunks' order, an error raised at its own chunk."""

from __future__ import annotations

import threading
import time

import pytest

from mobtrack.ingest.csv_chunks import map_in_order


def test_results_come_in_order_though_later_items_finish_first():
    def work(i: int) -> tuple[int, str]:
        time.sleep(0.02 if i % 2 == 0 else 0)  # every odd item finishes before the even one before it
        return i, threading.current_thread().name

    out = list(map_in_order(work, range(10)))
    assert [i for i, _ in out] == list(range(10))
    assert len({name for _, name in out}) == 2  # two threads did the work


def test_an_error_is_raised_at_its_item_after_the_results_before_it():
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("bad chunk 3")
        return i

    seen = []
    with pytest.raises(ValueError, match="bad chunk 3"):
        for result in map_in_order(work, range(10)):
            seen.append(result)
    assert seen == [0, 1, 2]


def test_no_more_than_threads_plus_one_items_are_taken_ahead():
    taken = []

    def items():
        for i in range(100):
            taken.append(i)
            yield i

    results = map_in_order(lambda i: i, items())
    assert next(results) == 0
    assert len(taken) <= 3
    results.close()
