"""Canonical records: the one tabular shape every ingest adapter produces.

One row is one value: a count of a population group, in a unit, at a place, in a round,
optionally disaggregated. The place is described as the source gave it (codes and names per
admin level); the gazetteer stage resolves it to a p-code of a boundary version.

Columns are grouped by concept. Everything a later stage needs is here, nothing else.
"""

from __future__ import annotations

import polars as pl

# Disaggregation dimensions an observation may carry (all optional).
DISAGGREGATIONS = ["sex", "age_band", "reason", "origin_pcode", "origin_name", "shelter_type", "displacement_period",
                   # flows (flow monitoring, origin-destination): where to, who (nationality), how, which way
                   "destination_pcode", "destination_name", "nationality", "transport", "direction"]

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    # round identity
    "operation": pl.String,
    "country_iso3": pl.String,
    "assessment_type": pl.String,
    "round_number": pl.Int32,
    "reporting_date": pl.Date,
    "period_start": pl.Date,
    "period_end": pl.Date,
    # place, as given by the source: level of the unit the row describes, and its ancestors
    "admin_level": pl.Int8,
    "adm1_pcode": pl.String,
    "adm1_name": pl.String,
    "adm2_pcode": pl.String,
    "adm2_name": pl.String,
    "adm3_pcode": pl.String,
    "adm3_name": pl.String,
    "adm4_pcode": pl.String,
    "adm4_name": pl.String,
    # sites / villages below admin3 (admin_level 5 in the canonical model)
    "site_code": pl.String,
    "site_name": pl.String,
    "site_type": pl.String,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    # what is counted
    "population_group": pl.String,
    "unit": pl.String,
    "role": pl.String,
    "sex": pl.String,
    "age_band": pl.String,
    "reason": pl.String,
    "origin_pcode": pl.String,
    "origin_name": pl.String,
    "shelter_type": pl.String,
    "displacement_period": pl.String,
    "destination_pcode": pl.String,
    "destination_name": pl.String,
    "nationality": pl.String,  # ISO3 where known, else as written
    "transport": pl.String,
    "direction": pl.String,  # incoming | outgoing | internal, as flow monitoring records it
    "value": pl.Int64,
    # the raw cell when `value` could not be parsed (kept so the issue can quote it)
    "raw_value": pl.String,
    # provenance
    "source_sheet": pl.String,
    "source_row": pl.Int64,
    "source_column": pl.String,
}

CANONICAL_COLUMNS = list(CANONICAL_SCHEMA)

SITE_LEVEL = 5


def empty_records() -> pl.DataFrame:
    return pl.DataFrame(schema=CANONICAL_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Add missing canonical columns as nulls, cast to the canonical types, order the columns.

    Adapters build only the columns their format has; this makes every frame the same shape.
    Extra columns are an adapter bug, so they raise rather than silently vanish.
    """
    extra = set(frame.columns) - set(CANONICAL_SCHEMA)
    if extra:
        raise ValueError(f"not canonical columns: {sorted(extra)}")
    exprs = []
    for name, dtype in CANONICAL_SCHEMA.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False) if frame.schema[name] != dtype else pl.col(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)
