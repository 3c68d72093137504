"""Loaders turning the shared benchmark files into the engine's long frame.

The files stay in ../shared/data (several may not be redistributed); these functions only
read them. Each returns `series_id, date, value` (+ hierarchy columns).
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

# UNHCR population table columns that count people displaced from their origin country,
# internally or across a border. Returnees (returned_refugees, returned_idps) have gone home,
# stateless people (stateless) are not necessarily displaced and host communities (hst) are not
# displaced at all, so they are left out. ooc ("others of concern") and oip ("other people in
# need of international protection", e.g. Venezuelans abroad since 2022, who were counted under
# ooc/"Venezuelans displaced abroad" before) are displaced people by UNHCR's own definition.
DISPLACED_COLUMNS = ["refugees", "asylum_seekers", "idps", "ooc", "oip"]


def prmn_monthly(data: Path) -> pl.DataFrame:
    """PRMN arrivals summed by arrival district and month (hierarchy country/region/district)."""
    raw = pl.read_csv(data / "foresight/prmn/prmn_arrivals.csv", infer_schema_length=0)
    return (
        raw.select(
            pl.lit("SOM").alias("country"),
            pl.col("Current (Arrival) Region").str.strip_chars().alias("region"),
            pl.col("Current (Arrival) District").str.strip_chars().alias("district"),
            pl.col("Month End").str.to_date("%d/%m/%Y").dt.truncate("1mo").alias("date"),
            pl.col("Number of Individuals").cast(pl.Float64).alias("value"),
        )
        .group_by("country", "region", "district", "date")
        .agg(pl.col("value").sum())
        .sort("region", "district", "date")
    )


def idmc_monthly(data: Path) -> pl.DataFrame:
    """IDMC new displacements per country and month (wide file, one column per ISO3)."""
    raw = pl.read_csv(next((data / "foresight/idmc_monthly").glob("*.csv")))
    month = raw.columns[0]
    return (
        raw.unpivot(index=month, variable_name="series_id", value_name="value")
        .with_columns((pl.col(month) + "-01").str.to_date("%Y-%m-%d").alias("date"))
        .select("series_id", "date", pl.col("value").cast(pl.Float64))
        .drop_nulls("value")
    )


def unhcr_displaced(data: Path, first_year: int = 1990, last_year: int = 2024) -> pl.DataFrame:
    """Annual displaced stock by origin country: sum of DISPLACED_COLUMNS over countries of asylum."""
    raw = pl.read_csv(data / "stats/unhcr/population.csv.gz", infer_schema_length=10000)
    return (
        raw.filter(pl.col("year").is_between(first_year, last_year) & (pl.col("coo_iso") != "UNK"))
        .group_by("coo_iso", "year")
        .agg(pl.sum_horizontal([pl.col(c).cast(pl.Float64).fill_null(0.0) for c in DISPLACED_COLUMNS]).sum().alias("value"))
        .select(
            pl.col("coo_iso").alias("series_id"),
            pl.date(pl.col("year"), 1, 1).alias("date"),
            "value",
        )
        .sort("series_id", "date")
    )


def flee_conflicts(data: Path) -> dict[str, pl.DataFrame]:
    """Per Flee conflict: camp counts (stocks) for the camps its data_layout.csv lists."""
    out = {}
    for folder in sorted((data / "foresight/flee").iterdir()):
        layout = folder / "data_layout.csv"
        if not layout.is_file():
            continue
        frames = []
        with layout.open() as fh:
            for row in csv.reader(fh):
                if len(row) < 2 or row[0].strip().lower() == "total" or row[0].startswith("#"):
                    continue
                path = folder / row[1].strip()
                if path.is_file():  # layouts also list dummy locations that have no data file
                    frames.append(_flee_camp(path, row[0].strip()))
        out[folder.name] = pl.concat(frames).sort("series_id", "date")
    return out


def _flee_camp(path: Path, name: str) -> pl.DataFrame:
    rows = []
    with path.open() as fh:
        for row in csv.reader(fh):
            if len(row) < 2 or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            rows.append((row[0].strip().strip('"'), row[1].strip().strip('"')))
    frame = pl.DataFrame(rows, schema=["date", "value"], orient="row")
    return frame.select(
        pl.lit(name).alias("series_id"),
        pl.col("date").str.to_date("%Y-%m-%d", strict=False),
        pl.col("value").cast(pl.Float64, strict=False),
    ).drop_nulls()
