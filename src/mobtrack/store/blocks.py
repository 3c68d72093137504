"""Observation blocks: a round version's values stored as compressed columnar blobs in the database.

Why blobs rather than one SQL row per value: at 10 million values a row-per-value table costs
~35 s to load and index on a laptop, while every analytic reads whole rounds anyway. A round's
values sorted by location compress ~6x and decode in milliseconds (docs/architecture.md).

Blocks are Arrow IPC *streams*. Storing a small round is mostly the fixed cost of its blocks: for
a flow-monitoring round (~20 values, 41 columns) a stream costs 0.1 ms to write and 0.1 ms to
read, where an IPC file (with its footer) cost 0.4 and 0.9 ms, and Parquet 1.3 ms to write.

- a block of SMALL_BLOCK_ROWS rows or more is a stream whose buffers are zstd-compressed by Arrow;
- a smaller block is mostly the stream's metadata (a description of every column and buffer, even
  empty ones), which Arrow does not compress: it is written uncompressed and zstd-compressed as a
  whole, behind an 8-byte header (SMALL_MAGIC, then the uncompressed length as uint32 LE). A
  flow-monitoring round's block is then ~0.9 KB instead of ~5 KB, at the same cost; under
  PostgreSQL's 2 KB TOAST threshold, a batch of them inserts ~6x faster. Above ~1,000 rows, whole
  compression is slower than Arrow's per-buffer compression (4x at 5,000 rows) for little gain.

Blocks written by earlier versions, as IPC files or Parquet, are read as before: the format is
told by the payload's first bytes.
"""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa

from mobtrack.model.records import CANONICAL_SCHEMA

# Round identity lives on round_version, so blocks carry only what varies within a round.
ROUND_COLUMNS = {"operation", "country_iso3", "assessment_type", "round_number", "reporting_date",
                 "period_start", "period_end"}
OBSERVATION_SCHEMA: dict[str, pl.DataType] = {
    "location_id": pl.Int64,
    **{k: v for k, v in CANONICAL_SCHEMA.items() if k not in ROUND_COLUMNS},
    "location_pcode": pl.String,
    "match_method": pl.String,
    "match_score": pl.Float64,
    "match_status": pl.String,
    "match_detail": pl.String,
    "source_file_id": pl.Int64,  # provenance: with source_sheet/row/column, where the value was read
}
OBSERVATION_COLUMNS = list(OBSERVATION_SCHEMA)

FIGURE_SCHEMA: dict[str, pl.DataType] = {
    "location_id": pl.Int64,
    "admin_level": pl.Int8,
    "population_group": pl.String,
    "unit": pl.String,
    "value": pl.Int64,  # computed: from the lowest level present below, else the source's own figure
    "source_value": pl.Int64,  # the source's own figure for this place, when it gave one
    "missing": pl.Int32,  # observations that would count here but had no usable value
}

BLOCK_ROWS = 500_000


SMALL_BLOCK_ROWS = 1_000
SMALL_MAGIC = b"MTZ1"  # neither Parquet's PAR1, an IPC file's ARROW1 nor a stream's 0xFFFFFFFF
_ZSTD = pa.Codec("zstd")  # stateless: safe to share between threads


def encode(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    if frame.height >= SMALL_BLOCK_ROWS:
        frame.write_ipc_stream(buf, compression="zstd")
        return buf.getvalue()
    frame.write_ipc_stream(buf)
    raw = buf.getbuffer()
    return SMALL_MAGIC + len(raw).to_bytes(4, "little") + _ZSTD.compress(raw, asbytes=True)


def decode(payload: bytes, columns: list[str] | None = None) -> pl.DataFrame:
    head = bytes(payload[:6])
    if head[:4] == SMALL_MAGIC:
        size = int.from_bytes(bytes(payload[4:8]), "little")
        raw = _ZSTD.decompress(memoryview(payload)[8:], decompressed_size=size, asbytes=True)
        return pl.read_ipc_stream(io.BytesIO(raw), columns=columns)
    if head[:4] == b"PAR1":  # Parquet, written by an earlier version
        return pl.read_parquet(io.BytesIO(payload), columns=columns)
    if head == b"ARROW1":  # an IPC file, written by an earlier version
        return pl.read_ipc(io.BytesIO(payload), columns=columns)
    return pl.read_ipc_stream(io.BytesIO(payload), columns=columns)


def split(frame: pl.DataFrame, rows: int = BLOCK_ROWS) -> list[pl.DataFrame]:
    if frame.height <= rows:
        return [frame]
    return [frame.slice(i, rows) for i in range(0, frame.height, rows)]
