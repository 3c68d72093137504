"""Split-conformal prediction intervals from rolling-origin backtest errors.

Each backtest error is divided by its series' scale at that error's origin (the mean absolute
period-to-period change of the recent history, the MASE denominator) so that errors from a district of 50 and a
region of 50,000 can be pooled; the interval is the pooled quantile of those normalised
errors times the series' scale. Signed quantiles (not |error|) keep the asymmetry of count
data: arrivals overshoot far more than they undershoot. The quantile level carries the
usual finite-sample correction ceil((n+1)(1-a))/n, so coverage holds for exchangeable errors.
Errors are pooled per hierarchy level, may be weighted (recent origins more: the weighted
conformal quantile of Barber et al. 2023, the forecast itself counting one full weight), and a
band's lower end clipped at zero hands its unused alpha to the upper end.
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


def _sorted(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(z, kind="stable")
    return z[order], np.cumsum(w[order])


def _lower(z: np.ndarray, w: np.ndarray, q: float) -> float:
    """Weighted conformal lower quantile: the largest error with at most q (W + 1) weight at or
    below it (W: total weight; the forecast itself counts 1). With unit weights this is the
    usual floor((n+1) q)-th error; -inf when the errors are too few to bound the level."""
    zs, cum = _sorted(z, w)
    k = np.searchsorted(cum, q * (cum[-1] + 1.0) + 1e-9, side="right")
    return float(zs[k - 1]) if k >= 1 else -math.inf


def _upper(z: np.ndarray, w: np.ndarray, alpha: float, missed_below: float) -> float:
    """Weighted conformal upper bound leaving alpha (W + 1) - missed_below weight above it:
    with unit weights the ceil((n+1)(1-alpha) + missed_below)-th error; +inf when the errors
    are too few to bound the level (e.g. fewer than 39 for the top of a 95% band)."""
    zs, cum = _sorted(z, w)
    need = (1 - alpha) * (cum[-1] + 1.0) + missed_below - 1e-9
    k = np.searchsorted(cum, need, side="left")
    return float(zs[k]) if k < zs.size else math.inf


def interval_offsets(
    z: np.ndarray,
    levels: tuple[int, ...] = LEVELS,
    groups: np.ndarray | None = None,
    floors: np.ndarray | None = None,
    weights: np.ndarray | None = None,
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
            for level, offs in interval_offsets(z, levels, np.zeros(z.shape[0], int), floors, weights).items()
        }
    horizon = z.shape[-1]
    floors = np.full_like(z, -np.inf) if floors is None else np.broadcast_to(floors, z.shape)
    weights = np.ones_like(z) if weights is None else np.broadcast_to(weights, z.shape)
    ok = np.isfinite(z)
    pools: dict[tuple, tuple[np.ndarray, ...]] = {}
    for h in range(horizon):
        ok_h = ok[..., h]
        everyone = (z[..., h][ok_h], floors[..., h][ok_h], weights[..., h][ok_h])
        fallback = everyone if everyone[0].size >= MIN_POOL else (z[ok], floors[ok], weights[ok])
        for g in np.unique(groups):
            members = groups == g
            own = ok[members][..., h]
            pools[g, h] = (
                tuple(a[members][..., h][own] for a in (z, floors, weights)) if own.sum() >= MIN_POOL else fallback
            )
    out: dict[int, np.ndarray] = {}
    for level in levels:
        alpha = 1 - level / 100
        offs = np.zeros((z.shape[0], horizon, 2))
        for (g, h), (pool, floor, weight) in pools.items():
            if pool.size == 0:
                offs[groups == g, h] = (-np.inf, np.inf)  # no backtest yet: say so with an unbounded interval
                continue
            # The interval always contains the point forecast: when every backtest error had
            # the same sign (a camp that kept growing) the raw quantiles would exclude it.
            lo = min(_lower(pool, weight, alpha / 2), 0.0)
            missed_below = float(np.sum(weight[(pool < lo) & (lo > floor)]))
            hi = max(_upper(pool, weight, alpha, missed_below), 0.0)
            offs[groups == g, h] = (lo, hi)
        out[level] = offs
    return out


