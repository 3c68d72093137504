"""mobtrack's own long CSV: one row per value, columns named as in the canonical model.

It is what `mobtrack export` writes, and the simplest way to bring data from any system: name
the columns as in docs/data-model.md (unknown columns are refused, missing ones are null).
Streamed in batches, so memory does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from mobtrack.ingest import register
from mobtrack.ingest.base import Adapter, Batch, ImportOptions, SourceFile
from mobtrack.ingest.tables import ROW, grid_columns, stream_csv
from mobtrack.ingest.values import parse_counts
from mobtrack.model import CANONICAL_SCHEMA, conform
from mobtrack.validate.issue import ImportRejected

# Integer columns of the model (whole counts, round numbers, levels).
WHOLE_NUMBERS = frozenset(name for name, dtype in CANONICAL_SCHEMA.items() if dtype.is_integer())


@register
class CanonicalCsvAdapter(Adapter):
    name = "mobtrack-csv"
    description = "mobtrack long CSV: one row per value, canonical column names"

    def sniff(self, source: SourceFile, head: bytes) -> float:
        first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip().lower()
        columns = {c.strip() for c in first.split(",")}
        if not {"population_group", "unit", "value"} <= columns:
            return 0.0
        return 0.95 if columns <= set(CANONICAL_SCHEMA) else 0.3  # unknown columns: read() says which

    def read(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        from mobtrack.ingest.safety import check_size

        check_size(source)
        header = pl.read_csv(source.path, n_rows=0, encoding="utf8-lossy").columns
        unknown = [c for c in header if c not in CANONICAL_SCHEMA]
        if unknown:
            raise ImportRejected(f"{source.name}: columns not in the canonical model: {', '.join(unknown)} "
                                 "(see docs/data-model.md, or import with a --mapping file)")
        for needed in ("population_group", "unit", "value"):
            if needed not in header:
                raise ImportRejected(f"{source.name}: missing column {needed!r}")
        names = dict(zip(grid_columns(len(header)), header, strict=True))
        # Streamed in byte blocks, so memory stays bounded by one batch whatever the file's size;
        # integer columns parsed as integers while the file lets them (text otherwise: see stream_csv).
        whole = {grid for grid, name in names.items() if name in WHOLE_NUMBERS}
        for grid in stream_csv(source.path, ",", skip_rows=1, width=len(header), batch_rows=options.batch_rows,
                               whole_numbers=whole):
            yield Batch(records=self._canonical(grid.rename(names), grid[ROW]))

    def _canonical(self, chunk: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
        exprs = []
        names = CANONICAL_SCHEMA.keys() & set(chunk.columns)
        texts = [name for name in names if chunk.schema[name] == pl.String]
        # stripped once, up front: `when(text == "")...otherwise(text)` would strip every cell twice
        stripped = chunk.select(pl.col(texts).str.strip_chars(), *(names - set(texts)))
        for name in names:
            dtype = CANONICAL_SCHEMA[name]
            if chunk.schema[name] != pl.String:  # read as a whole number already (stream_csv)
                exprs.append(pl.col(name).cast(dtype, strict=False).alias(name))
                continue
            text = pl.col(name)
            if dtype == pl.Date:
                exprs.append(text.str.to_date("%Y-%m-%d", strict=False).alias(name))
            elif name == "value":
                exprs.append(text.cast(pl.Int64, strict=False).alias("value"))
            elif dtype != pl.String:
                exprs.append(text.cast(dtype, strict=False).alias(name))
            else:
                exprs.append(pl.when(text == "").then(None).otherwise(text).alias(name))
        frame = stripped.select(exprs)
        if chunk.schema["value"] == pl.String and frame["value"].null_count() > chunk["value"].is_null().sum():
            # some counts are not plain integers ("1,234", "12.0"): the careful parser, only then
            value, _ = parse_counts(pl.col("value"))
            frame = frame.with_columns(chunk.select(value.alias("value")))
        frame = frame.with_columns(
            pl.when(pl.col("value").is_null()).then(chunk["value"].cast(pl.String)).otherwise(None).alias("raw_value"),
            rows.cast(pl.Int64).alias("source_row"),
            pl.lit("value").alias("source_column"),
        )
        if "role" not in frame.columns:
            frame = frame.with_columns(pl.lit("total").alias("role"))
        return conform(frame)
