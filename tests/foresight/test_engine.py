from datetime import date

import numpy as np
import polars as pl
import pytest

from mobtrack.foresight import OUTPUT_COLUMNS, ForesightInputError, backtest, predict
from mobtrack.foresight.grid import truncate
from mobtrack.foresight.hierarchy import build, reconcile, reconcile_with_fallback

from .conftest import FAST_MODELS, make_panel

HIER = ["country", "admin1"]


def test_no_look_ahead_removing_the_future_gives_identical_forecasts(panel):
    """A backtest forecast at a cutoff equals a forecast from data that ends at that cutoff,
    and rewriting everything after the cutoff changes nothing (all models, GBM included)."""
    cut = date(2018, 6, 1)
    full = backtest(panel, "M", 3, [cut], hierarchy=HIER)
    cut_off = predict(truncate(panel, cut, "M"), "M", 3, hierarchy=HIER)
    future_changed = panel.with_columns(
        pl.when(pl.col("date") > cut).then(pl.col("value") * 7 + 1000).otherwise(pl.col("value")).alias("value")
    )
    changed = backtest(future_changed, "M", 3, [cut], hierarchy=HIER)
    assert full.drop("cutoff").equals(cut_off.drop("cutoff"))
    assert full.equals(changed)


def test_output_columns_ids_coherence_and_non_negative(panel):
    pred = predict(panel, "M", 2, hierarchy=HIER, models=FAST_MODELS)
    assert pred.columns == OUTPUT_COLUMNS
    assert set(pred["series_id"]) == {"XYZ", "XYZ/North", "XYZ/South", "L0", "L1", "L2", "L3"}
    assert pred["cutoff"].unique().to_list() == [date(2019, 4, 1)]
    assert pred["date"].unique().sort().to_list() == [date(2019, 5, 1), date(2019, 6, 1)]
    wide = pred.pivot(on="series_id", index="date", values="point")
    np.testing.assert_allclose(wide["XYZ/North"], wide["L0"] + wide["L2"])
    np.testing.assert_allclose(wide["XYZ"], wide["XYZ/North"] + wide["XYZ/South"])
    for col in ["point", "lo80", "hi80", "lo95", "hi95"]:
        assert (pred[col] >= 0).all()
    assert (pred["lo95"] <= pred["lo80"]).all() and (pred["hi80"] <= pred["hi95"]).all()


def test_selection_picks_the_model_that_backtests_best():
    """A strictly seasonal series (period 12) is forecast by seasonal naive, never by its in-sample fit."""
    months = 48
    pattern = np.array([10, 50, 200, 400, 120, 30, 5, 5, 80, 300, 90, 20], dtype=float)
    dates = pl.date_range(date(2015, 1, 1), date(2018, 12, 1), "1mo", eager=True)
    frame = pl.DataFrame({"series_id": ["S"] * months, "date": dates, "value": np.tile(pattern, 4)})
    pred = predict(frame, "M", 3, models=("Naive", "SeasonalNaive", "WindowAverage"))
    assert pred["model"].unique().to_list() == ["SeasonalNaive"]
    np.testing.assert_allclose(pred["point"], pattern[:3])


def test_intervals_cover_roughly_their_level_on_exchangeable_noise():
    frames = [make_panel(n_leaves=6, months=60, seed=s, level=100) for s in range(3)]
    frame = pl.concat([f.with_columns((pl.col("series_id") + f"-{k}").alias("series_id")) for k, f in enumerate(frames)])
    cuts = [date(2019, m, 1) for m in range(1, 10)]
    pred = backtest(frame.select("series_id", "date", "value"), "M", 1, cuts, models=FAST_MODELS)
    scored = pred.join(frame.select("series_id", "date", pl.col("value").alias("y")), on=["series_id", "date"])
    cov80 = ((scored["y"] >= scored["lo80"]) & (scored["y"] <= scored["hi80"])).mean()
    cov95 = ((scored["y"] >= scored["lo95"]) & (scored["y"] <= scored["hi95"])).mean()
    assert 0.7 <= cov80 <= 0.9
    assert 0.88 <= cov95 <= 1.0


def test_bad_requests_are_refused(panel):
    with pytest.raises(ForesightInputError, match="freq"):
        predict(panel, "Q", 3)
    with pytest.raises(ForesightInputError, match="no observations"):
        backtest(panel, "M", 1, [date(2000, 1, 1)], hierarchy=HIER)
    with pytest.raises(ForesightInputError, match="Naive"):
        predict(panel, "M", 1, models=("ETS",))


def test_aggregate_ids_follow_the_path_and_leaf_clash_is_refused(panel):
    h = build(panel.select("series_id", "country", "admin1").unique(), HIER, ["L0", "L1", "L2", "L3"])
    assert h.node_ids[:3] == ["XYZ", "XYZ/North", "XYZ/South"]
    clash = panel.with_columns(pl.when(pl.col("series_id") == "L0").then(pl.lit("XYZ")).otherwise("series_id").alias("series_id"))
    with pytest.raises(ForesightInputError, match="aggregate"):
        build(clash, HIER, sorted(clash["series_id"].unique()))


def test_mint_shrink_falls_back_on_zero_heavy_short_series(panel):
    """All-zero backtest residuals (a quiet, zero-heavy place) make the shrunk covariance degenerate."""
    h = build(panel.select("series_id", "country", "admin1").unique(), HIER, ["L0", "L1", "L2", "L3"])
    y_hat = np.zeros((len(h.node_ids), 2))
    y_hat[-1] = 3.0
    with pytest.raises(ValueError):
        reconcile(h, "mint_shrink", y_hat, residuals=np.zeros((len(h.node_ids), 6)))
    rec, used = reconcile_with_fallback(h, "mint_shrink", y_hat, residuals=np.zeros((len(h.node_ids), 6)))
    assert used == "mint_wls_struct"
    np.testing.assert_allclose(rec[0], h.S[0] @ rec[h.n_aggregates :])


def test_aggregate_counts_as_observed_only_when_every_started_child_reported(panel):
    from mobtrack.foresight.hierarchy import observed

    h = build(panel.select("series_id", "country", "admin1").unique(), HIER, ["L0", "L1", "L2", "L3"])
    values = np.array([[1.0, 1.0, 1.0], [np.nan, 2.0, 2.0], [3.0, 3.0, 3.0], [4.0, 4.0, 4.0]])
    seen = np.array([[True, True, False], [False, True, True], [True, True, True], [True, True, True]])
    obs = observed(h, values, seen)
    north = h.node_ids.index("XYZ/North")  # L0 and L2
    south = h.node_ids.index("XYZ/South")  # L1 (starts in period 2) and L3
    assert obs[north].tolist() == [True, True, False]
    assert obs[south].tolist() == [True, True, True]
    assert obs[0].tolist() == [True, True, False]


def test_intervals_contain_the_point_and_open_up_when_history_is_short():
    from mobtrack.foresight.conformal import interval_offsets

    growing = np.full((2, 3, 1), 2.0)  # every backtest error positive, only 6 of them
    offs = interval_offsets(growing)
    assert offs[80][0, 0] <= 0.0  # the point stays inside
    assert offs[95][0, 1] == np.inf  # 6 errors cannot bound a 95% interval
    many = np.random.default_rng(0).normal(size=(10, 10, 1))
    lo, hi = interval_offsets(many)[95][0]
    assert -3 < lo < -1.5 and 1.5 < hi < 3
