"""DTM API JSON (v3 and the legacy v2), envelope included.

v3 splits a place's IDPs into rows by `displacementReason` and `idpOriginAdmin1*`: those rows are
`part`s of one figure (summed, never double counted), and `numberMales`/`numberFemales` are
`breakdown`s of each part. v2 gives one row per place and round: a `total`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import polars as pl

from mobtrack.ingest import register
from mobtrack.ingest.base import Adapter, Batch, ImportOptions, SourceFile
from mobtrack.model import conform
from mobtrack.model.vocab import parse_assessment_type
from mobtrack.validate.issue import ImportRejected

NOT_AVAILABLE = {"not available", "n/a", "na", "", "none", "null", "unknown"}


def _clean(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text.str.to_lowercase().is_in(list(NOT_AVAILABLE))).then(None).otherwise(text)


def _raw(name: str, cols: set[str]) -> pl.Expr:
    """The cell as the source wrote it, kept only where it is not a usable count (for the rules to quote)."""
    if name not in cols:
        return pl.lit(None, dtype=pl.String).alias("raw_value")
    return (pl.when(pl.col(name).cast(pl.Int64, strict=False).is_null())
            .then(pl.col(name).cast(pl.String)).alias("raw_value"))


@register
class DtmApiAdapter(Adapter):
    name = "dtm-api"
    description = "IOM DTM API v3/v2 JSON responses ({result, statusCode, isSuccess, errorMessages, ...})"

    def sniff(self, source: SourceFile, head: bytes) -> float:
        text = head.lstrip(b"\xef\xbb\xbf \r\n\t")[:4096]
        if not text.startswith((b"{", b"[")):
            return 0.0
        if b"admin0Pcode" in text or b"numPresentIdpInd" in text or b'"isSuccess"' in text:
            return 0.95
        return 0.1

    def read(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        from mobtrack.ingest.safety import check_size

        check_size(source)
        try:
            with open(source.path, encoding="utf-8-sig") as fh:
                payload = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ImportRejected(
                f"{source.name}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                "the file is probably truncated: download it again"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ImportRejected(f"{source.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        records = self._records(source, payload)
        if not records:
            raise ImportRejected(f"{source.name}: the response holds no records")
        yield Batch(records=self._canonical(records), notes=[f"{len(records)} API records"])

    def _records(self, source: SourceFile, payload) -> list[dict]:
        if isinstance(payload, list):
            return payload
        if not isinstance(payload, dict) or "result" not in payload:
            raise ImportRejected(f"{source.name}: JSON without a 'result' list: not a DTM API response")
        if payload.get("isSuccess") is False:
            messages = "; ".join(map(str, payload.get("errorMessages") or [])) or "no message"
            raise ImportRejected(f"{source.name}: the API reported failure (statusCode "
                                 f"{payload.get('statusCode')}): {messages}")
        result = payload["result"]
        if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
            raise ImportRejected(f"{source.name}: 'result' is not a list of records")
        total = payload.get("totalRecordsCount")
        if isinstance(total, int) and total != len(result):
            raise ImportRejected(
                f"{source.name}: the envelope announces {total} records but holds {len(result)}: "
                "a partial download or one page of a paged response; fetch all pages into one file"
            )
        return result

    def _canonical(self, records: list[dict]) -> pl.DataFrame:
        raw = pl.DataFrame(records, infer_schema_length=None, strict=False).with_row_index("source_row", offset=1)
        cols = set(raw.columns)

        def col(name: str) -> pl.Expr:
            return _clean(pl.col(name)) if name in cols else pl.lit(None, dtype=pl.String)

        is_v3 = "displacementReason" in cols or "idpOriginAdmin1Pcode" in cols
        level = (
            pl.when(col("admin2Pcode").is_not_null() | col("admin2Name").is_not_null()).then(2)
            .when(col("admin1Pcode").is_not_null() | col("admin1Name").is_not_null()).then(1)
            .otherwise(0)
        )
        if "adminLevel" in cols:
            level = pl.col("adminLevel").cast(pl.Int8, strict=False).fill_null(level)
        assessment = col("assessmentType").map_elements(
            lambda v: str(parse_assessment_type(v) or v).upper(), return_dtype=pl.String
        )
        base = raw.select(
            col("operation").alias("operation"),
            col("admin0Pcode").str.to_uppercase().alias("country_iso3"),
            assessment.alias("assessment_type"),
            pl.col("roundNumber").cast(pl.Int32, strict=False).alias("round_number") if "roundNumber" in cols
            else pl.lit(None, dtype=pl.Int32).alias("round_number"),
            col("reportingDate").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias("reporting_date"),
            level.cast(pl.Int8).alias("admin_level"),
            col("admin1Pcode").alias("adm1_pcode"), col("admin1Name").alias("adm1_name"),
            col("admin2Pcode").alias("adm2_pcode"), col("admin2Name").alias("adm2_name"),
            pl.lit("idps").alias("population_group"), pl.lit("individuals").alias("unit"),
            pl.lit("part" if is_v3 else "total").alias("role"),
            col("displacementReason").alias("reason"),
            col("idpOriginAdmin1Pcode").alias("origin_pcode"), col("idpOriginAdmin1Name").alias("origin_name"),
            pl.col("numPresentIdpInd").cast(pl.Int64, strict=False).alias("value")
            if "numPresentIdpInd" in cols else pl.lit(None, dtype=pl.Int64).alias("value"),
            _raw("numPresentIdpInd", cols),
            pl.col("source_row").cast(pl.Int64),
            pl.lit("numPresentIdpInd").alias("source_column"),
        )
        frames = [base]
        for field, sex in (("numberMales", "male"), ("numberFemales", "female")):
            if field in cols:
                values = raw.select(pl.col(field).cast(pl.Int64, strict=False).alias("value"), _raw(field, cols))
                part = base.with_columns(values).with_columns(
                    pl.lit("breakdown").alias("role"), pl.lit(sex).alias("sex"), pl.lit(field).alias("source_column"))
                # the API writes null where it has no sex breakdown: that is absence, not a missing value
                frames.append(part.filter(pl.col("value").is_not_null() | pl.col("raw_value").is_not_null()))
        return conform(pl.concat(frames, how="diagonal_relaxed"))
