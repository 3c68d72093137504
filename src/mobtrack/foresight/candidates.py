"""The candidate models and the base forecasts they make at many origins at once.

Local models come from statsforecast. Fitting every (series, origin) pair is the cost of an
honest backtest, so the pairs are stacked into one frame and fitted in a single call, and
results are cached by the exact history they saw: a rolling backtest asks for the same
(history, origin) again and again, and an identical history gives an identical forecast.

ARIMA here is ARIMA(1,0,0) with a mean, estimated by conditional least squares in numpy
(numpy_models.py). statsforecast 2.x's ARIMA costs 25-60 ms per fit on this 2-core machine
(AutoARIMA 0.15-0.4 s), which alone would push the PRMN backtest (about 2,500 fits per model)
past its 2-minute budget; the CSS estimate of the same model costs microseconds. ETS is
non-seasonal for the same reason (seasonal AutoETS is ~15x slower). Seasonality is still
covered by seasonal naive, Theta's decomposition and the global model's season feature.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable

import numpy as np

from mobtrack.foresight.gbm import gbm_forecast
from mobtrack.foresight.numpy_models import NUMPY_MODELS, damped_drift_forecast, numpy_forecast

STATSFORECAST_MODELS = ("Naive", "SeasonalNaive", "WindowAverage", "ETS", "Theta", "Croston", "TSB", "ADIDA")
LOCAL_MODELS = STATSFORECAST_MODELS + NUMPY_MODELS
GLOBAL_MODELS = ("GBM", "DampedDrift")
# The combination is the median of a few different-minded models: medians are robust to one
# member going wild on a spike, which is the usual failure on displacement series.
COMBO_MEMBERS = ("ETS", "Theta", "ARIMA", "WindowMedian", "GBM")
# GBMNaive, the mean of the global model and naive, is the global model taken half-way back to
# persistence. Where a series is close to a random walk (annual displaced stocks) the global
# model's moves are right a little more often than not and naive's "no change" is hard to
# beat; halving the move keeps most of the gain and halves the damage of a wrong move (UNHCR,
# >= 500k, cutoffs 2000-2023: 54% within 10% for this candidate alone, 51% for GBM, 51.5% for
# naive). Like every candidate it is used only where it backtests best. It is a default candidate
# for stocks only: a flow of arrivals is no random walk (the GBM for flows already expects a
# surge to fall back), and offered for flows too it was chosen for 2% of PRMN's series and cutoffs,
# changed no MAE ratio by more than 0.002 and nudged PRMN's 95% coverage over the 98% edge.
ALL_MODELS = LOCAL_MODELS + GLOBAL_MODELS + ("Combo", "GBMNaive")
STOCK_ONLY_MODELS = ("GBMNaive",)


def _statsforecast_models(names: tuple[str, ...], season_length: int) -> list:
    from statsforecast.models import (
        ADIDA,
        TSB,
        AutoETS,
        CrostonClassic,
        Naive,
        SeasonalNaive,
        Theta,
        WindowAverage,
    )

    season = max(season_length, 1)
    make = {
        "Naive": lambda: Naive(),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season),
        "WindowAverage": lambda: WindowAverage(window_size=3),
        "ETS": lambda: AutoETS(season_length=1, model="ZZN"),
        "Theta": lambda: Theta(season_length=season, decomposition_type="additive"),
        "Croston": lambda: CrostonClassic(),
        "TSB": lambda: TSB(alpha_d=0.2, alpha_p=0.2),
        "ADIDA": lambda: ADIDA(),
    }
    return [make[n]() for n in names]


class ForecastCache:
    """Base forecasts keyed by the exact history (bytes) they were made from."""

    def __init__(self) -> None:
        self.local: dict[bytes, np.ndarray] = {}
        self.global_: dict[bytes, np.ndarray] = {}
        self.hits = 0
        self.misses = 0


def _key(history: np.ndarray, *extra: object) -> bytes:
    h = hashlib.blake2b(np.ascontiguousarray(history).tobytes(), digest_size=16)
    h.update(repr(extra).encode())
    return h.digest()


def base_forecasts(
    values: np.ndarray,
    origins: list[int],
    horizon: int,
    season_length: int,
    models: tuple[str, ...] = ALL_MODELS,
    cache: ForecastCache | None = None,
    n_jobs: int = 1,
    history: Callable[[int], np.ndarray] | None = None,
    kind: str = "flow",
) -> np.ndarray:
    """Forecasts of every model for every series from every origin.

    Returns an array (n_models, n_series, n_origins, horizon); NaN where a series has not
    started by the origin. Only `values[:, :origin + 1]` is read for an origin, or
    `history(origin)` (n_series, origin + 1) when given: what was known at that origin, which
    for an interpolated stock differs from the values known later (engine.py). `kind` ("flow"
    or "stock") sets the global model's level (gbm.py).
    """
    history = history or (lambda origin: values[:, : origin + 1])
    cache = cache or ForecastCache()
    n = values.shape[0]
    local = tuple(m for m in models if m in LOCAL_MODELS)
    out = np.full((len(models), n, len(origins), horizon), np.nan)
    pos = {m: k for k, m in enumerate(models)}

    todo: list[tuple[int, int, np.ndarray, bytes]] = []
    for j, origin in enumerate(origins):
        known = history(origin)
        for i in range(n):
            hist = known[i]
            hist = hist[~np.isnan(hist)]
            if hist.size == 0:
                continue
            if np.all(hist == hist[-1]):
                # A flat history (all zeros, typically): every model says "the same again".
                for m in local:
                    out[pos[m], i, j] = hist[-1]
                continue
            key = _key(hist, local, horizon, season_length)
            hit = cache.local.get(key)
            if hit is not None:
                cache.hits += 1
                for k, m in enumerate(local):
                    out[pos[m], i, j] = hit[k]
            else:
                cache.misses += 1
                todo.append((i, j, hist, key))
    if todo and local:
        fitted = _fit_local(todo, local, horizon, season_length, n_jobs)
        for (i, j, _, key), fc in zip(todo, fitted, strict=True):
            cache.local[key] = fc
            for k, m in enumerate(local):
                out[pos[m], i, j] = fc[k]

    gbm_level = "last" if kind == "stock" else "mean"
    fit_global = {
        "GBM": lambda origin: gbm_forecast(history(origin), origin, horizon, season_length, level=gbm_level),
        "DampedDrift": lambda origin: damped_drift_forecast(history(origin), origin, horizon),
    }
    fitted_global = {}
    for name in GLOBAL_MODELS:
        if name not in models and not (name == "GBM" and "GBMNaive" in models):
            continue
        fc = np.full((n, len(origins), horizon), np.nan)
        for j, origin in enumerate(origins):
            key = _key(history(origin), name.lower(), horizon, season_length, gbm_level)
            if key not in cache.global_:
                cache.global_[key] = fit_global[name](origin)
            fc[:, j] = cache.global_[key]
        # Where the global model had too little data it falls back to naive.
        if "Naive" in pos:
            gap = np.isnan(fc)
            fc[gap] = out[pos["Naive"]][gap]
        fitted_global[name] = fc
        if name in pos:
            out[pos[name]] = fc
    if "GBMNaive" in models:
        out[pos["GBMNaive"]] = 0.5 * (fitted_global["GBM"] + out[pos["Naive"]])

    if "Combo" in models:
        members = [pos[m] for m in COMBO_MEMBERS if m in pos]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices before a series starts
            out[pos["Combo"]] = np.nanmedian(out[members], axis=0)
    return np.clip(out, 0.0, None)


def _fit_local(todo: list, names: tuple[str, ...], horizon: int, season_length: int, n_jobs: int) -> list[np.ndarray]:
    """(n_models, horizon) per todo item, in `names` order."""
    sf_names = tuple(m for m in names if m in STATSFORECAST_MODELS)
    sf = _fit_statsforecast(todo, sf_names, horizon, season_length, n_jobs) if sf_names else None
    out = []
    for k, item in enumerate(todo):
        rows = []
        for m in names:
            if m in NUMPY_MODELS:
                rows.append(numpy_forecast(m, item[2], horizon))
            else:
                rows.append(sf[k][sf_names.index(m)])
        out.append(np.vstack(rows))
    return out


def _fit_statsforecast(
    todo: list, names: tuple[str, ...], horizon: int, season_length: int, n_jobs: int
) -> list[np.ndarray]:
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    lengths = np.array([len(t[2]) for t in todo])
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(todo)), lengths),
            "ds": np.concatenate([np.arange(n) for n in lengths]),
            "y": np.concatenate([t[2] for t in todo]),
        }
    )
    sf = StatsForecast(
        models=_statsforecast_models(names, season_length), freq=1, n_jobs=n_jobs, fallback_model=Naive()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from ETS/ARIMA on short series
        fc = sf.forecast(df=frame, h=horizon)
    fc = fc.sort_values(["unique_id", "ds"])
    cols = [c for c in fc.columns if c not in ("unique_id", "ds")]
    arr = fc[cols].to_numpy(dtype=float).reshape(len(todo), horizon, len(cols))
    # statsforecast names columns by model alias; keep our order (same order as passed in).
    return [np.nan_to_num(a.T, nan=t[2][-1]) for a, t in zip(arr, todo, strict=True)]
