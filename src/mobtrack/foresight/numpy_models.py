"""Small models computed directly in numpy, where statsforecast is too slow or lacks them.

- ARIMA: ARIMA(1,0,0) with a mean, estimated by conditional least squares (CSS). A displaced
  population or arrival flow tends to revert towards its recent level at a rate the data
  tell; phi is kept inside (-0.99, 0.99) so the model stays stationary.
- WindowMedian: the median of the last 6 periods. The forecast that minimises absolute error
  is a median, and one spike in the window does not drag it the way it drags an average.
"""

from __future__ import annotations

import warnings

import numpy as np

NUMPY_MODELS = ("ARIMA", "WindowMedian")
PHI_BOUND = 0.95  # |phi| < 1 keeps the drift damped
MEDIAN_WINDOW = 6


def ar1_forecast(y: np.ndarray, horizon: int) -> np.ndarray:
    if y.size < 4 or np.all(y == y[0]):
        return np.full(horizon, y[-1])
    x, z = y[:-1], y[1:]
    xm, zm = x.mean(), z.mean()
    var = np.sum((x - xm) ** 2)
    phi = float(np.clip(np.sum((x - xm) * (z - zm)) / var, -0.99, 0.99)) if var > 0 else 0.0
    mu = (zm - phi * xm) / (1 - phi)  # long-run mean of the fitted process
    steps = phi ** np.arange(1, horizon + 1)
    return mu + steps * (y[-1] - mu)


def numpy_forecast(name: str, y: np.ndarray, horizon: int) -> np.ndarray:
    if name == "ARIMA":
        return ar1_forecast(y, horizon)
    if name == "WindowMedian":
        return np.full(horizon, float(np.median(y[-MEDIAN_WINDOW:])))
    raise ValueError(f"unknown numpy model {name!r}")


def damped_drift_phi(hist: np.ndarray) -> float | None:
    """Pooled L1 slope of change(t+1) on change(t) over all series of `hist` (n, T); None if no data."""
    d = np.diff(hist, axis=1)
    a, b = d[:, 1:], d[:, :-1]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # series not started yet: all-NaN rows
        scale = np.fmax(np.nan_to_num(np.nanmean(np.abs(d), axis=1), nan=1.0), 1.0)
    ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
    if ok.sum() < 20:
        return None
    # min sum |a - phi b| / s = sum (|b| / s) |a/b - phi|: a weighted median of the ratios.
    ratio = a[ok] / b[ok]
    weight = (np.abs(b) / scale[:, None])[ok]
    order = np.argsort(ratio)
    cum = np.cumsum(weight[order])
    phi = ratio[order][np.searchsorted(cum, cum[-1] / 2)]
    return float(np.clip(phi, -PHI_BOUND, PHI_BOUND))


def damped_drift_forecast(values: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """(n_series, horizon) from `values[:, :origin + 1]` only; NaN where it cannot forecast."""
    hist = values[:, : origin + 1]
    out = np.full((values.shape[0], horizon), np.nan)
    phi = damped_drift_phi(hist) if hist.shape[1] >= 3 else None
    if phi is None:
        return out
    change = hist[:, -1] - hist[:, -2]
    steps = np.cumsum(phi ** np.arange(1, horizon + 1))
    ok = np.isfinite(change)
    out[ok] = np.clip(hist[ok, -1:] + change[ok, None] * steps[None, :], 0.0, None)
    return out
