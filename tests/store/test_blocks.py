"""Blocks round-trip exactly, and blocks written as Parquet or IPC files by earlier versions still read."""

import io
from datetime import date

import polars as pl
import pytest

from mobtrack.store import blocks


def frame() -> pl.DataFrame:
    return pl.DataFrame({"location_id": [3, 1, None], "value": [10, None, 7], "sex": ["female", None, "male"],
                         "day": [date(2024, 1, 31), None, date(2024, 2, 29)]})


def test_a_block_round_trips():
    assert blocks.decode(blocks.encode(frame())).equals(frame())
    assert blocks.decode(blocks.encode(frame()), columns=["value"]).equals(frame().select("value"))
    empty = pl.DataFrame(schema=blocks.OBSERVATION_SCHEMA)
    assert blocks.decode(blocks.encode(empty)).equals(empty) and blocks.decode(blocks.encode(empty)).schema == empty.schema


def test_small_blocks_are_compressed_whole_and_large_ones_by_arrow():
    small = blocks.encode(frame())
    assert small[:4] == blocks.SMALL_MAGIC
    assert len(small) < len(frame().write_ipc_stream(None, compression="zstd").getvalue()) / 2
    large = pl.DataFrame({"location_id": range(blocks.SMALL_BLOCK_ROWS), "value": range(blocks.SMALL_BLOCK_ROWS)})
    payload = blocks.encode(large)
    assert payload[:4] == b"\xff\xff\xff\xff"  # a plain Arrow stream (its continuation marker)
    assert blocks.decode(payload).equals(large) and blocks.decode(payload, columns=["value"]).equals(large.select("value"))
    edge = large.head(blocks.SMALL_BLOCK_ROWS - 1)
    assert blocks.decode(blocks.encode(edge)).equals(edge)


def test_a_plain_arrow_stream_reads_whatever_its_size():
    payload = frame().write_ipc_stream(None, compression="zstd").getvalue()
    assert blocks.decode(payload).equals(frame()) and blocks.decode(payload, columns=["sex"]).equals(frame().select("sex"))


def test_an_ipc_file_block_from_an_earlier_version_still_reads():
    buf = io.BytesIO()
    frame().write_ipc(buf, compression="zstd")
    assert buf.getvalue()[:6] == b"ARROW1"
    assert blocks.decode(buf.getvalue()).equals(frame())
    assert blocks.decode(buf.getvalue(), columns=["day"]).equals(frame().select("day"))


def test_a_parquet_block_from_an_earlier_version_still_reads():
    buf = io.BytesIO()
    frame().write_parquet(buf, compression="zstd", compression_level=1, statistics=True)
    assert blocks.decode(buf.getvalue()).equals(frame())
    assert blocks.decode(buf.getvalue(), columns=["sex"]).equals(frame().select("sex"))


def test_a_large_block_leaves_out_its_empty_columns_and_reads_them_back_typed():
    n = blocks.SMALL_BLOCK_ROWS
    large = pl.DataFrame({"location_id": range(n), "adm1_name": [None] * n, "value": range(n), "day": [None] * n,
                          "score": [None] * n},
                         schema={"location_id": pl.Int64, "adm1_name": pl.String, "value": pl.Int64, "day": pl.Date,
                                 "score": pl.Float64})
    payload = blocks.encode(large)
    assert payload[:4] == blocks.SPARSE_MAGIC
    assert len(payload) < len(large.write_ipc_stream(None, compression="zstd").getvalue())
    back = blocks.decode(payload)
    assert back.equals(large) and back.schema == large.schema  # same columns, order and types
    assert blocks.decode(payload, columns=["day", "value"]).equals(large.select("day", "value"))
    assert blocks.decode(payload, columns=["value"]).equals(large.select("value"))
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        blocks.decode(payload, columns=["no_such_column"])
    nothing = large.select(pl.col("adm1_name", "day"))  # every column empty: stored whole (keeps the row count)
    assert blocks.decode(blocks.encode(nothing)).equals(nothing)
    partly = large.with_columns(pl.Series("adm1_name", [None] * (n - 1) + ["XA01"]))  # one value: kept
    assert blocks.decode(blocks.encode(partly)).equals(partly)
    assert blocks.decode(payload, columns=["day"]).equals(large.select("day"))  # only empty ones: rows kept
