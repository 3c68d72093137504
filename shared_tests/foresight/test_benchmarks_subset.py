"""Key claims of docs/foresight-benchmark.md, checked quickly on subsets of the real data.

The full report is `bench/foresight_report.py`; these keep CI honest in seconds. Thresholds
are looser than the report's targets because a subset has fewer windows (more noise), but
each can fail: a forecaster no better than naive, intervals that lie, or look-ahead would.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from mobtrack.foresight import backtest, predict
from mobtrack.foresight.distribution import distribute, forecast_shares, frozen_shares
from mobtrack.foresight.frame import normalise
from mobtrack.foresight.grid import truncate
from mobtrack.foresight.metrics import ard, attach_actuals, cutoff_range, node_values, summary

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import foresight_data as fd  # noqa: E402

HIER = ["country", "region"]


@pytest.fixture(scope="module")
def prmn_regions(shared_data):
    districts = fd.prmn_monthly(shared_data)
    return districts.group_by("country", "region", "date").agg(pl.col("value").sum()).rename({"region": "series_id"}).with_columns(
        pl.col("series_id").alias("region")
    )


def test_prmn_regions_beat_naive_with_honest_intervals(prmn_regions):
    cuts = cutoff_range(date(2018, 1, 1), date(2018, 12, 1), "M")[::2]
    pred = backtest(prmn_regions, "M", 3, cuts, hierarchy=HIER)
    scored = attach_actuals(pred, normalise(prmn_regions, HIER), "M", "flow", HIER)
    regions = summary(scored.filter(pl.col("series_id").str.contains("/"))).row(0, named=True)
    assert regions["rel_mae"] < 0.95
    assert 0.65 <= regions["cov80"] <= 0.92
    assert 0.85 <= regions["cov95"] <= 1.0


def test_no_look_ahead_on_real_prmn(prmn_regions):
    cut = date(2018, 3, 1)
    models = ("Naive", "ETS", "WindowMedian", "GBM", "Combo")
    full = backtest(prmn_regions, "M", 3, [cut], hierarchy=HIER, models=models)
    cut_off = predict(truncate(prmn_regions, cut, "M"), "M", 3, hierarchy=HIER, models=models)
    assert full.drop("cutoff").equals(cut_off.drop("cutoff"))


def test_flee_engine_beats_frozen_shares(shared_data):
    camps = fd.flee_conflicts(shared_data)["burundi2015"].with_columns(pl.lit("burundi").alias("conflict"))
    cuts = cutoff_range(date(2015, 7, 6), date(2016, 5, 30), "W")[::4]
    data = normalise(camps, ["conflict"])
    pred = backtest(data, "W", 4, cuts, hierarchy=["conflict"], kind="stock")
    truth = node_values(data, "W", "stock", None).select("series_id", "date", pl.col("value").alias("actual"))
    totals = truth.group_by("date").agg(pl.col("actual").sum().alias("total"))
    leaves = pred.filter(pl.col("series_id") != "burundi")
    engine = distribute(forecast_shares(leaves), totals).join(truth, on=["series_id", "date"])
    frozen = distribute(frozen_shares(data, cuts, "W", 4), totals).join(truth, on=["series_id", "date"])
    assert ard(engine) < ard(frozen)


def test_unhcr_displaced_stock_definition_and_naive_baseline(shared_data):
    stock = fd.unhcr_displaced(shared_data)
    raw = pl.read_csv(shared_data / "stats/unhcr/population.csv.gz", infer_schema_length=10000)
    syr = raw.filter((pl.col("coo_iso") == "SYR") & (pl.col("year") == 2015))
    expected = sum(syr[c].cast(pl.Float64).fill_null(0).sum() for c in fd.DISPLACED_COLUMNS)
    got = stock.filter((pl.col("series_id") == "SYR") & (pl.col("date") == date(2015, 1, 1)))["value"].item()
    assert got == pytest.approx(expected) and got > 10e6
    # Naive one-year-ahead "within 10%" for origins >= 500k: about half, as the 57% says.
    wide = stock.sort("date").with_columns(pl.col("value").shift(1).over("series_id").alias("last"))
    big = wide.filter((pl.col("last") >= 500_000) & pl.col("date").dt.year().is_between(2001, 2024))
    share = ((big["value"] - big["last"]).abs() <= 0.1 * big["value"]).mean()
    assert 0.4 <= share <= 0.7


def test_idmc_busiest_countries_beat_naive(shared_data):
    data = fd.idmc_monthly(shared_data)
    busiest = data.group_by("series_id").agg(pl.col("value").sum()).sort("value", descending=True).head(20)["series_id"]
    subset = data.filter(pl.col("series_id").is_in(busiest.to_list()))
    cuts = cutoff_range(date(2024, 1, 1), date(2024, 12, 1), "M")[::2]
    pred = backtest(subset, "M", 3, cuts)
    scored = attach_actuals(pred, subset, "M")
    m = summary(scored).row(0, named=True)
    assert m["rel_mae"] < 0.95
    assert 0.6 <= m["cov80"] <= 0.95
