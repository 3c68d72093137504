"""Batches read ahead in a thread arrive in order, errors surface where the adapter failed, and a
consumer that stops early stops the reader."""

import threading

import pytest

from mobtrack.pipeline import read_ahead


def test_batches_arrive_in_order():
    assert list(read_ahead(iter(range(50)))) == list(range(50))


def test_an_adapter_error_is_raised_after_the_batches_before_it():
    def batches():
        yield 1
        yield 2
        raise ValueError("broken row 3")

    got = []
    with pytest.raises(ValueError, match="broken row 3"):
        for b in read_ahead(batches()):
            got.append(b)
    assert got == [1, 2]


def test_stopping_early_stops_the_reader():
    read, closed = [], threading.Event()

    def batches():
        try:
            for i in range(1000):
                read.append(i)
                yield i
        finally:
            closed.set()

    for b in read_ahead(batches()):
        if b == 2:
            break
    assert closed.wait(5)
    assert len(read) <= 5  # at most a batch or two beyond the one the consumer stopped at
    assert not any(t.name == "mobtrack-read-ahead" and t.is_alive() for t in threading.enumerate())


def test_the_callers_preparation_runs_while_the_first_batch_is_read():
    started, prepared = threading.Event(), []

    def batches():
        started.set()
        yield 1

    def meanwhile():
        assert started.wait(5)  # the reader is already at work
        prepared.append(threading.current_thread())

    assert list(read_ahead(batches(), meanwhile=meanwhile)) == [1]
    assert prepared == [threading.current_thread()]


def test_a_failed_preparation_stops_the_reader():
    def meanwhile():
        raise RuntimeError("no rules")

    with pytest.raises(RuntimeError, match="no rules"):
        list(read_ahead(iter(range(1000)), meanwhile=meanwhile))
    assert not any(t.name == "mobtrack-read-ahead" and t.is_alive() for t in threading.enumerate())
