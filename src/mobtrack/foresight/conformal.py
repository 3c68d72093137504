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


def interval_offsets(
    z: np.ndarray,
    levels: tuple[int, ...] = LEVELS,
    groups: np.ndarray | None = None,
    floors: np.ndarray | None = None,
) -> dict[int, np.ndarray]:
    """Per-horizon (lo, hi) offsets in scale units. z: normalised errors (n_series, n_origins, H).

    Without `groups`, every series shares one pool per horizon: {level: array (H, 2)}. With
    `groups` (one code per series, e.g. its hierarchy level), each group is calibrated on its
    own errors, because a country total and a zero-heavy district err in different ways even
    after scaling; a group with fewer than MIN_POOL errors at a horizon borrows the pool of all
    groups at that horizon. Returns {level: array (n_series, H, 2)} then.

    `floors` (same shape as z) is each error's lowest possible value, -forecast / scale (the
    actual cannot go below zero). Bands are clipped at zero, and a clipped lower end can
    never be missed: spending alpha/2 on a tail that cannot happen makes count intervals
    over-cover (PRMN regions: 88% for an 80% band). So the lower misses are counted as the
    clipped band would have them in the backtest, and the upper end gets the rest of alpha.
    """
    if groups is None:
        return {
            level: offs[0]
            for level, offs in interval_offsets(z, levels, np.zeros(z.shape[0], int), floors).items()
        }
    horizon = z.shape[-1]
    floors = np.full_like(z, -np.inf) if floors is None else np.broadcast_to(floors, z.shape)
    pools: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    for h in range(horizon):
        ok_h = np.isfinite(z[..., h])
        everyone = (z[..., h][ok_h], floors[..., h][ok_h])
        ok = np.isfinite(z)
        fallback = everyone if everyone[0].size >= MIN_POOL else (z[ok], floors[ok])
        for g in np.unique(groups):
            zg, fg = z[groups == g][..., h], floors[groups == g][..., h]
            own = np.isfinite(zg)
            pools[g, h] = (zg[own], fg[own]) if own.sum() >= MIN_POOL else fallback
    out: dict[int, np.ndarray] = {}
    for level in levels:
        alpha = 1 - level / 100
        offs = np.zeros((z.shape[0], horizon, 2))
        for (g, h), (pool, floor) in pools.items():
            if pool.size == 0:
                offs[groups == g, h] = (-np.inf, np.inf)  # no backtest yet: say so with an unbounded interval
                continue
            # The interval always contains the point forecast: when every backtest error had
            # the same sign (a camp that kept growing) the raw quantiles would exclude it.
            lo = min(_quantile(pool, alpha / 2, upper=False), 0.0)
            missed_below = int(np.sum((pool < lo) & (lo > floor)))
            hi = max(_upper(pool, alpha, missed_below), 0.0)
            offs[groups == g, h] = (lo, hi)
        out[level] = offs
    return out


def _upper(z: np.ndarray, alpha: float, missed_below: int) -> float:
    """Upper conformal bound leaving alpha (n+1) - missed_below errors above it."""
    n = z.size
    k = math.ceil((n + 1) * (1 - alpha) + missed_below - 1e-9)
    return float(np.sort(z)[k - 1]) if k <= n else math.inf
