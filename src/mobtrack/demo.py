"""The demo database: a synthetic multi-round operation on the Somalia COD-AB 2023 boundaries.

Every figure is generated (the operation's name says so). The data goes through the same path as a
real file: written as mobtrack CSV, then imported, so the demo shows the real pipeline, including a
few deliberate defects in the last round (an unreadable count, a misspelt district without its
p-code) for the data-quality views.
"""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path

import polars as pl

from mobtrack.synthetic import synthetic_rounds, write_csv

OPERATION = "Synthetic demo: Somalia displacement (not real data)"
ROUNDS = 12
BOUNDARIES = ["som_admbnda_adm1_ocha_20230308.geojson", "som_admbnda_adm2_ocha_20230308.geojson"]


def demo_files() -> list[Path]:
    folder = resources.files("mobtrack") / "data" / "demo"
    return [Path(str(folder / name)) for name in BOUNDARIES]


def districts() -> pl.DataFrame:
    features = json.loads(demo_files()[1].read_text())["features"]
    return pl.DataFrame([
        {"adm1_pcode": f["properties"]["ADM1_PCODE"], "adm2_pcode": f["properties"]["ADM2_PCODE"],
         "adm2_name": f["properties"]["ADM2_EN"]} for f in features
    ]).with_columns(pl.lit(2, dtype=pl.Int8).alias("admin_level")).sort("adm2_pcode")


def demo_records() -> pl.DataFrame:
    """The demo rounds as mobtrack CSV columns (`value` as text)."""
    places = districts()
    records = synthetic_rounds(places.drop("adm2_name"), operation=OPERATION, country_iso3="SOM", rounds=ROUNDS,
                               seed=2023, assessment_type="BA")
    # Defects a real last round might have, so the data-quality pages have something to show.
    last = pl.col("round_number") == ROUNDS
    first_total = last & (pl.col("adm2_pcode") == places["adm2_pcode"][0]) & (pl.col("role") == "total") & (
        pl.col("population_group") == "idps") & (pl.col("unit") == "households")
    misspelt = places.filter(pl.col("adm2_pcode") == "SO2201")  # Banadir, abbreviated: too short to decide
    # mobtrack CSV carries the cell as written in `value`, so the unreadable count is text there.
    records = records.with_columns(
        pl.when(first_total).then(pl.lit("Not available")).otherwise(pl.col("value").cast(pl.String)).alias("value"),
    )
    if misspelt.height:
        target = last & (pl.col("adm2_pcode") == "SO2201")
        name = misspelt["adm2_name"][0]
        records = records.with_columns(
            pl.when(target).then(pl.lit(name[:4] + ".")).otherwise(pl.col("adm2_name")).alias("adm2_name"),
            pl.when(target).then(None).otherwise(pl.col("adm2_pcode")).alias("adm2_pcode"),
        )
    return records


def build_demo(db_url: str | None = None) -> dict:
    from mobtrack.gazetteer import load_bundled, load_paths
    from mobtrack.pipeline import import_file
    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.store.publishing import PublishError, publish

    upgrade(db_url)
    with get_engine(db_url).begin() as conn:
        load_bundled(conn)
        load_paths(conn, demo_files(), country_iso3="SOM", version_name="COD-AB 2023-03-08")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic_somalia_rounds.csv"
        records = demo_records()
        write_csv(records, path)
        result = import_file(path, db_url=db_url)
    # Publish what nothing blocks, so the public pages have something to show; round 12 stays a draft.
    published, blocked = [], []
    with get_engine(db_url).begin() as conn:
        for r in result.rounds:
            try:
                publish(conn, r.operation, r.round_number, r.assessment_type)
                published.append(r.round_number)
            except PublishError:
                blocked.append(r.round_number)
    return {**result.as_dict(), "published": published, "blocked": blocked}
