"""A batch split into the runs of rows sharing a key is exactly group_by(maintain_order=True)."""

import polars as pl
import pytest

from mobtrack.batches import runs


def _grouped(frame: pl.DataFrame, by: list[str]) -> list[tuple[tuple, list]]:
    return [(tuple(key), part.rows()) for key, part in frame.group_by(by, maintain_order=True)]


@pytest.mark.parametrize("keys", [
    ["a", "a", "b", "b", "b", "c"],  # grouped: slices
    ["a", "b", "a", "c", "c"],  # a key comes back: grouped as group_by does
    [None, None, "a"],
    ["a"],
])
def test_runs_are_group_by_in_order(keys):
    frame = pl.DataFrame({"k": keys, "n": [1] * len(keys), "v": list(range(len(keys)))},
                         schema={"k": pl.String, "n": pl.Int64, "v": pl.Int64})
    for by in (["k"], ["k", "n"]):
        assert [(key, part.rows()) for key, part in runs(frame, by)] == _grouped(frame, by)
