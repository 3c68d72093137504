"""Split-conformal prediction intervals from rolling-origin backtest errors.

Each backtest error is divided by its series' scale at that error's origin (the mean absolute
period-to-period change of the recent history, the MASE denominator) so that errors from a district of 50 and a
region of 50,000 can be pooled; the interval is the pooled quantile of those normalised
errors times the series' scale. Signed quantiles (not |error|) keep the asymmetry of count
data: arrivals overshoot far more than they undershoot. The quantile level carries the
usual finite-sample correction ceil((n+1)(1-a))/n, so coverage holds for exchangeable errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

LEVELS = (80, 95)
MIN_POOL = 20  # fewer pooled errors than this at a horizon: pool all horizons instead


def series_scale(values: np.ndarray, window: int = 24) -> np.ndarray:
    """Recent mean absolute change per series (n,), floored at 1 (one person)."""
    recent = values[:, -window:]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # series not started yet: all-NaN rows
        diffs = np.abs(np.diff(recent, axis=1))
        scale = np.nanmean(diffs, axis=1)
    return np.fmax(np.nan_to_num(scale, nan=1.0), 1.0)


def _quantile(z: np.ndarray, q: float, upper: bool) -> float:
    """Conformal quantile; infinite when n errors are too few to bound the level (e.g. n < 39
    for the upper end of a 95% interval): a short history gets an honest open interval."""
    n = z.size
    if upper:
        k = math.ceil((n + 1) * q)
        return float(np.sort(z)[k - 1]) if k <= n else math.inf
    k = math.floor((n + 1) * q)
    return float(np.sort(z)[k - 1]) if k >= 1 else -math.inf


def interval_offsets(z: np.ndarray, levels: tuple[int, ...] = LEVELS) -> dict[int, np.ndarray]:
    """Per-horizon (lo, hi) offsets in scale units. z: normalised errors (n_series, n_origins, H).

    Returns {level: array (H, 2)}.
    """
    horizon = z.shape[-1]
    pooled_all = z[np.isfinite(z)]
    out: dict[int, np.ndarray] = {}
    for level in levels:
        alpha = 1 - level / 100
        offs = np.zeros((horizon, 2))
        for h in range(horizon):
            zh = z[..., h]
            zh = zh[np.isfinite(zh)]
            pool = zh if zh.size >= MIN_POOL else pooled_all
            if pool.size == 0:
                offs[h] = (-np.inf, np.inf)  # no backtest yet: say so with an unbounded interval
                continue
            # The interval always contains the point forecast: when every backtest error had
            # the same sign (a camp that kept growing) the raw quantiles would exclude it.
            lo = min(_quantile(pool, alpha / 2, upper=False), 0.0)
            hi = max(_quantile(pool, 1 - alpha / 2, upper=True), 0.0)
            offs[h] = (lo, hi)
        out[level] = offs
    return out
