"""Blocks round-trip exactly, and blocks written as Parquet or IPC files by earlier versions still read."""

import io
from datetime import date

import polars as pl

from mobtrack.store import blocks


def frame() -> pl.DataFrame:
    return pl.DataFrame({"location_id": [3, 1, None], "value": [10, None, 7], "sex": ["female", None, "male"],
                         "day": [date(2024, 1, 31), None, date(2024, 2, 29)]})


def test_a_block_round_trips():
    assert blocks.decode(blocks.encode(frame())).equals(frame())
    assert blocks.decode(blocks.encode(frame()), columns=["value"]).equals(frame().select("value"))
    empty = pl.DataFrame(schema=blocks.OBSERVATION_SCHEMA)
    assert blocks.decode(blocks.encode(empty)).equals(empty) and blocks.decode(blocks.encode(empty)).schema == empty.schema


def test_blocks_are_arrow_streams():
    assert blocks.encode(frame())[:4] == b"\xff\xff\xff\xff"  # the stream's continuation marker, no file magic


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
