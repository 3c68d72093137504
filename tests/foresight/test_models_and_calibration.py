"""The damped-drift model, stock backtests from what was known at each origin, per-level calibration."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from mobtrack.foresight import backtest_results
from mobtrack.foresight.conformal import interval_offsets
from mobtrack.foresight.engine import _stock_history
from mobtrack.foresight.numpy_models import damped_drift_forecast, damped_drift_phi


def test_damped_drift_recovers_a_shared_momentum_and_reads_nothing_after_the_origin():
    rng = np.random.default_rng(3)
    n, t, phi = 40, 30, 0.6
    changes = np.zeros((n, t))
    for k in range(1, t):
        changes[:, k] = phi * changes[:, k - 1] + rng.laplace(scale=100.0, size=n)
    values = 10_000 + np.cumsum(changes, axis=1)
    assert abs(damped_drift_phi(values) - phi) < 0.1
    fc = damped_drift_forecast(values, 20, 3)
    est = damped_drift_phi(values[:, :21])
    step = values[:, 20] - values[:, 19]
    np.testing.assert_allclose(fc[:, 1], values[:, 20] + (est + est**2) * step)
    changed = values.copy()
    changed[:, 21:] = 0.0
    np.testing.assert_array_equal(fc, damped_drift_forecast(changed, 20, 3))


def test_damped_drift_reverts_after_jumps_in_a_spiky_flow():
    rng = np.random.default_rng(4)
    flows = rng.poisson(50, size=(30, 40)).astype(float)
    flows[rng.random(flows.shape) < 0.1] *= 20  # isolated spikes: a jump is usually followed by a fall
    assert damped_drift_phi(flows) < -0.2


def test_stock_backtest_origin_does_not_see_the_next_report():
    """Between two reports the grid interpolates; at a backtest origin there, only the
    earlier report was known, so the history must be held flat after it."""
    leaf_values = np.array([[100.0, 150.0, 200.0, 250.0, 300.0]])  # reports at 0 and 4, interpolated between
    leaf_obs = np.array([[True, False, False, False, True]])
    history = _stock_history(None, leaf_values, leaf_obs)
    np.testing.assert_array_equal(history(2), [[100.0, 100.0, 100.0]])
    np.testing.assert_array_equal(history(4), leaf_values)


def test_stock_backtest_errors_are_those_of_a_forecast_made_from_a_flat_tail():
    """A camp growing by 10 a week, counted every 4 weeks: a backtest forecast made 3 weeks
    after a count misses the next count by 40, as a real forecast would; drawn from the
    interpolated line it would miss by 10 and the intervals would be four times too narrow."""
    days = [date(2019, 1, 7) + (date(2019, 1, 14) - date(2019, 1, 7)) * (4 * k) for k in range(12)]
    frame = pl.DataFrame({"series_id": ["camp"] * 12, "date": days, "value": [1000.0 + 40 * k for k in range(12)]})
    (res,) = backtest_results(frame, "W", 1, [days[-1]], kind="stock", models=("Naive",))
    z = res.errors[0, :, 0]
    z = z[np.isfinite(z)]
    assert z.size >= 2
    assert np.all(z > 2.5)  # about 40 / 10 (scale = mean weekly change), not 10 / 10


def test_each_level_is_calibrated_on_its_own_errors_and_small_levels_borrow():
    rng = np.random.default_rng(6)
    z = np.concatenate([rng.normal(scale=1.0, size=(30, 10, 1)), rng.normal(scale=5.0, size=(30, 10, 1)),
                        rng.normal(scale=5.0, size=(1, 10, 1))])
    groups = np.array([0] * 30 + [1] * 30 + [2])
    offs = interval_offsets(z, groups=groups)[80]
    calm, wild, tiny = offs[0, 0], offs[30, 0], offs[60, 0]
    assert calm[1] < 2 < 5 < wild[1]
    pooled = interval_offsets(z)[80][0]
    np.testing.assert_allclose(tiny, pooled)  # 10 errors: too few, borrows the pool of every level


def test_recent_errors_weigh_more_when_weights_say_so():
    """Old errors from a surge (wide) and recent calm ones: with recency weights the band
    follows the calm regime; with unit weights it is the plain conformal quantile."""
    rng = np.random.default_rng(7)
    old = rng.normal(scale=10.0, size=(40, 6, 1))
    recent = rng.normal(scale=1.0, size=(40, 6, 1))
    z = np.concatenate([old, recent], axis=1)
    plain = interval_offsets(z)[80][0]
    weights = np.concatenate([np.full(6, 0.01), np.ones(6)])[None, :, None]
    weighted = interval_offsets(z, weights=weights)[80][0]
    assert weighted[1] < 2.5 < plain[1]
    flat = interval_offsets(z, weights=np.ones_like(z))[80][0]
    np.testing.assert_allclose(flat, plain)


def test_a_clipped_lower_end_hands_its_alpha_to_the_upper_end():
    """Forecasts 10 scale units above zero with errors down to -50: the band's lower end
    (-41) is below zero and is clipped, so nothing can be missed below it and the upper end
    carries the whole 20% of an 80% band (81st of 100 errors instead of the 90th)."""
    z = np.arange(-50.0, 50.0).reshape(100, 1, 1)
    lo_free, hi_free = interval_offsets(z)[80][0]
    lo, hi = interval_offsets(z, floors=np.full_like(z, -10.0))[80][0]
    # Unclipped: 10th error below (floor(101 * 0.1)); the 9 errors under it are misses, so
    # the top leaves ceil(101 * 0.8 + 9) = 90 errors under it.
    assert (lo_free, hi_free) == (-41.0, 39.0)
    assert (lo, hi) == (-41.0, 30.0)  # ceil(101 * 0.8) = 81st error


def test_global_model_on_stocks_starts_from_the_last_value_and_reads_nothing_after_the_origin():
    """Stocks that moved to a new level and then wander (random walks in logs): divided by the
    last value the global model is about as good as naive, the benchmark every stock forecast
    must beat; and it reads nothing after its origin."""
    from mobtrack.foresight.gbm import gbm_forecast

    rng = np.random.default_rng(8)
    n, t = 60, 40
    steps = rng.normal(scale=0.05, size=(n, t))
    steps[np.arange(n), rng.integers(5, 15, size=n)] += rng.choice([-1.5, 1.5], size=n)  # a past level shift
    values = np.exp(9 + np.cumsum(steps, axis=1))
    origin = 34
    fc = gbm_forecast(values, origin, 3, 1, level="last")
    naive_err = np.abs(values[:, origin : origin + 1] - values[:, origin + 1 : origin + 4]).mean()
    model_err = np.abs(fc - values[:, origin + 1 : origin + 4]).mean()
    assert model_err <= 1.1 * naive_err
    changed = values.copy()
    changed[:, origin + 1 :] = 1.0
    np.testing.assert_array_equal(fc, gbm_forecast(changed, origin, 3, 1, level="last"))
    with pytest.raises(ValueError, match="level"):
        gbm_forecast(values, origin, 3, 1, level="median")


def test_gbm_naive_is_the_global_model_half_way_back_to_the_last_value():
    from mobtrack.foresight.candidates import base_forecasts

    rng = np.random.default_rng(9)
    values = np.cumsum(rng.normal(size=(30, 40)), axis=1) + 100.0
    origins = [30, 35, 39]
    both = base_forecasts(values, origins, 2, 1, models=("Naive", "GBM", "GBMNaive"), kind="stock")
    np.testing.assert_allclose(both[2], 0.5 * (both[0] + both[1]))
    assert not np.allclose(both[2], both[0])  # it does move
    alone = base_forecasts(values, origins, 2, 1, models=("Naive", "GBMNaive"), kind="stock")
    np.testing.assert_allclose(alone[1], both[2])  # needs no GBM column to be asked for


def test_gbm_naive_is_a_default_candidate_for_stocks_only_but_can_be_asked_for():
    from mobtrack.foresight.engine import Settings

    assert "GBMNaive" in Settings("Y", 1, kind="stock").models
    assert "GBMNaive" not in Settings("M", 3).models and "GBM" in Settings("M", 3).models
    assert "GBMNaive" in Settings("M", 3, models=("Naive", "GBMNaive")).models
