"""Small models computed directly in numpy, where statsforecast is too slow or lacks them.

- ARIMA: ARIMA(1,0,0) with a mean, estimated by conditional least squares (CSS). A displaced
  population or arrival flow tends to revert towards its recent level at a rate the data
  tell; phi is kept inside (-0.99, 0.99) so the model stays stationary.
- WindowMedian: the median of the last 6 periods. The forecast that minimises absolute error
  is a median, and one spike in the window does not drag it the way it drags an average.
"""

from __future__ import annotations

import numpy as np

NUMPY_MODELS = ("ARIMA", "WindowMedian")
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
