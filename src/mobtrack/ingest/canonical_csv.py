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
from mobtrack.model import CANONICAL_SCHEMA, conform
from mobtrack.validate.issue import ImportRejected


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
        lazy = pl.scan_csv(source.path, schema_overrides={c: pl.String for c in header}, infer_schema=False)
        offset = 2  # spreadsheet row number of the first data row (row 1 is the header)
        for chunk in lazy.collect_batches(chunk_size=options.batch_rows):
            yield Batch(records=self._canonical(chunk, offset))
            offset += chunk.height

    def _canonical(self, chunk: pl.DataFrame, offset: int) -> pl.DataFrame:
        exprs = []
        for name in chunk.columns:
            dtype = CANONICAL_SCHEMA[name]
            text = pl.col(name).str.strip_chars()
            if dtype == pl.Date:
                exprs.append(text.str.to_date("%Y-%m-%d", strict=False).alias(name))
            elif name == "value":
                exprs.append(text.cast(pl.Int64, strict=False).alias("value"))
            elif dtype != pl.String:
                exprs.append(text.cast(dtype, strict=False).alias(name))
            else:
                exprs.append(pl.when(text == "").then(None).otherwise(text).alias(name))
        frame = chunk.select(exprs).with_columns(
            pl.when(pl.col("value").is_null()).then(chunk["value"]).otherwise(None).alias("raw_value"),
            (pl.int_range(pl.len(), dtype=pl.Int64) + offset).alias("source_row"),
            pl.lit("value").alias("source_column"),
        )
        if "role" not in frame.columns:
            frame = frame.with_columns(pl.lit("total").alias("role"))
        return conform(frame)
