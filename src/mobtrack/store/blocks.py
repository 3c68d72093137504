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

- a large block drops its all-null columns (SPARSE_MAGIC): a round of a long CSV leaves ~25 of the 41
  observation columns empty (names when codes are given, sites, flow-monitoring fields...), and
  Arrow writes, compresses and reads each of them as if it held data: dropping them halves a
  40,000-row round's encoding (12.5 -> 6.9 ms) and decoding (14.6 -> 6.5 ms). The header keeps the
  full column list and types (a zero-row stream), so the frame read back is the frame written.

Blocks written by earlier versions, as IPC files, Parquet or streams with every column, are read as
before: the format is told by the payload's first bytes.
"""

from __future__ import annotations

import functools
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
# then the zstd-compressed zero-row stream of the full schema (uint32 LE raw and compressed sizes
# before it), then the stream of the columns that hold a value
SPARSE_MAGIC = b"MTN1"
_ZSTD = pa.Codec("zstd")  # stateless: safe to share between threads


def encode(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    if frame.height >= SMALL_BLOCK_ROWS:
        empty = [name for name, nulls in zip(frame.columns, frame.null_count().row(0), strict=True)
                 if nulls == frame.height]
        if not empty or len(empty) == frame.width:  # (a stream with no column would lose the row count)
            frame.write_ipc_stream(buf, compression="zstd")
            return buf.getvalue()
        frame.clear().write_ipc_stream(buf)
        schema = _ZSTD.compress(buf.getbuffer(), asbytes=True)
        head = SPARSE_MAGIC + len(buf.getbuffer()).to_bytes(4, "little") + len(schema).to_bytes(4, "little") + schema
        buf = io.BytesIO()
        buf.write(head)
        frame.drop(empty).write_ipc_stream(buf, compression="zstd")
        return buf.getvalue()
    frame.write_ipc_stream(buf)
    raw = buf.getbuffer()
    return SMALL_MAGIC + len(raw).to_bytes(4, "little") + _ZSTD.compress(raw, asbytes=True)


def decode(payload: bytes, columns: list[str] | None = None) -> pl.DataFrame:
    head = bytes(payload[:6])
    if head[:4] == SPARSE_MAGIC:
        return _decode_sparse(memoryview(payload), columns)
    if head[:4] == SMALL_MAGIC:
        size = int.from_bytes(bytes(payload[4:8]), "little")
        raw = _ZSTD.decompress(memoryview(payload)[8:], decompressed_size=size, asbytes=True)
        return pl.read_ipc_stream(io.BytesIO(raw), columns=columns)
    if head[:4] == b"PAR1":  # Parquet, written by an earlier version
        return pl.read_parquet(io.BytesIO(payload), columns=columns)
    if head == b"ARROW1":  # an IPC file, written by an earlier version
        return pl.read_ipc(io.BytesIO(payload), columns=columns)
    return pl.read_ipc_stream(io.BytesIO(payload), columns=columns)


def _decode_sparse(payload: memoryview, columns: list[str] | None) -> pl.DataFrame:
    """A SPARSE_MAGIC block: its stored columns, and its all-null ones as typed nulls."""
    raw_size, size = int.from_bytes(payload[4:8], "little"), int.from_bytes(payload[8:12], "little")
    schema = _schema(bytes(payload[12:12 + size]), raw_size)
    body = payload[12 + size:]
    stored = set(pa.ipc.open_stream(body).schema.names)  # reads the stream's schema message only
    wanted = list(schema) if columns is None else columns
    unknown = [c for c in wanted if c not in schema]
    if unknown:  # as reading them from a full stream would
        raise pl.exceptions.ColumnNotFoundError(f"unable to find column {unknown[0]!r}; valid columns: {list(schema)}")
    # at least one stored column, for the row count
    frame = pl.read_ipc_stream(io.BytesIO(body), columns=[c for c in wanted if c in stored] or [min(stored)])
    if frame.columns == wanted:  # a read of stored columns only (most analytics)
        return frame
    return frame.select(pl.col(c) if c in stored else pl.repeat(None, frame.height, dtype=schema[c]).alias(c)
                        for c in wanted)


@functools.lru_cache(maxsize=64)
def _schema(compressed: bytes, raw_size: int) -> pl.Schema:
    """The full schema of sparse blocks: the same few bytes for every block of a kind (cached: reading
    it costs as much as a small block's data)."""
    return pl.read_ipc_stream(io.BytesIO(_ZSTD.decompress(compressed, decompressed_size=raw_size, asbytes=True))).schema


def split(frame: pl.DataFrame, rows: int = BLOCK_ROWS) -> list[pl.DataFrame]:
    if frame.height <= rows:
        return [frame]
    return [frame.slice(i, rows) for i in range(0, frame.height, rows)]
