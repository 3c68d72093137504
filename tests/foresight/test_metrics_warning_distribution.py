from datetime import date

import numpy as np
import polars as pl
import pytest

from mobtrack.foresight import backtest_results
from mobtrack.foresight.distribution import distribute, forecast_shares, frozen_shares
from mobtrack.foresight.metrics import ard, attach_actuals, brier, summary
from mobtrack.foresight.warning import exceedance

from .conftest import FAST_MODELS


def _scored():
    return pl.DataFrame(
        {
            "point": [10.0, 20.0],
            "actual": [12.0, 14.0],
            "naive": [8.0, 20.0],
            "scale": [2.0, 4.0],
            "lo80": [9.0, 15.0],
            "hi80": [11.0, 25.0],
            "lo95": [5.0, 10.0],
            "hi95": [15.0, 30.0],
        }
    )


def test_summary_metrics_by_hand():
    m = summary(_scored()).row(0, named=True)
    assert m["rel_mae"] == pytest.approx((2 + 6) / (4 + 6))
    assert m["mase"] == pytest.approx((2 / 2 + 6 / 4) / 2)
    assert m["wape"] == pytest.approx(8 / 26)
    assert m["cov80"] == 0.0 and m["cov95"] == 1.0
    # Winkler 80%: width 2 + (12-11)*2/0.2 = 12 -> /2; width 10 + (15-14)*10 = 20 -> /4
    assert m["winkler80"] == pytest.approx((12 / 2 + 20 / 4) / 2)


def test_ard_and_brier():
    frame = pl.DataFrame({"date": [1, 1, 2, 2], "point": [5.0, 5.0, 10.0, 0.0], "actual": [4.0, 6.0, 5.0, 5.0]})
    assert ard(frame, by=["date"]) == pytest.approx((2 / 10 + 10 / 10) / 2)
    assert brier([1.0, 0.0, 0.5], [1, 1, 0]) == pytest.approx((0 + 1 + 0.25) / 3)


def test_attach_actuals_builds_naive_from_the_cutoff(panel):
    data = panel.select("series_id", "date", "value")
    (res,) = backtest_results(data, "M", 2, [date(2018, 3, 1)], models=FAST_MODELS)
    scored = attach_actuals(res.frame, data, "M")
    last = data.filter(pl.col("date") == date(2018, 3, 1)).select("series_id", pl.col("value").alias("expect"))
    check = scored.join(last, on="series_id")
    assert (check["naive"] == check["expect"]).all()
    assert sorted(scored["h"].unique()) == [1, 2]


def test_exceedance_probabilities_behave(panel):
    data = panel.select("series_id", "date", "value")
    (res,) = backtest_results(data, "M", 3, [date(2018, 12, 1)], models=FAST_MODELS)
    low = exceedance(res, 0.0, k=2)
    high = exceedance(res, 1e9, k=2)
    assert (low["probability"] > 0.99).all() and (high["probability"] == 0).all()
    mid = {sid: float(p) for sid, p in zip(res.node_ids, res.point[:, 0], strict=True)}
    p1 = exceedance(res, mid, k=1)["probability"]
    p3 = exceedance(res, mid, k=3)["probability"]
    assert ((p1 > 0.1) & (p1 < 0.9)).all()  # threshold at the forecast: genuinely uncertain
    assert (p3 >= p1 - 1e-12).all()  # "within 3 periods" is at least as likely as "next period"
    with pytest.raises(ValueError):
        exceedance(res, 1.0, k=4)


def test_frozen_shares_and_forecast_shares_sum_to_one():
    data = pl.DataFrame(
        {
            "series_id": ["a", "a", "b", "b"],
            "date": [date(2020, 1, 1), date(2020, 2, 1), date(2020, 1, 1), date(2020, 2, 1)],
            "value": [10.0, 30.0, 30.0, 10.0],
        }
    )
    frozen = frozen_shares(data, [date(2020, 2, 1)], "M", 2)
    assert frozen.filter(pl.col("series_id") == "a")["share"].to_list() == [0.75, 0.75]
    totals = pl.DataFrame({"date": [date(2020, 3, 1), date(2020, 4, 1)], "total": [100.0, 200.0]})
    out = distribute(frozen, totals)
    assert out.filter(pl.col("series_id") == "b")["point"].to_list() == [25.0, 50.0]
    pred = frozen.with_columns((pl.col("share") * 4).alias("point"))
    shares = forecast_shares(pred)
    assert np.allclose(shares.group_by("date").agg(pl.col("share").sum())["share"], 1.0)
