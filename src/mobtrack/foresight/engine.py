"""The forecasting engine: select, reconcile, calibrate, at one cutoff or many.

Everything made at a cutoff is computed from the input truncated at that cutoff (the grid
included, because interpolating a stock needs the next observation), so a forecast can only
depend on data up to its cutoff. The steps at a cutoff c:

1. base forecasts of every candidate model from origins c-K-H+1 ... c (rolling origin);
2. per series, the model with the lowest backtest MAE over the origins whose targets are
   already observed at c (never the in-sample fit);
3. with a hierarchy, the reconciliation method with the lowest scaled backtest error,
   falling back when it is numerically unstable (hierarchy.py);
4. conformal intervals from the backtest errors of that whole pipeline (conformal.py), per
   hierarchy level, recent errors weighing more.

For stocks, step 1 starts every backtest forecast from the history as known at its origin
(each place held flat after its last report), not from the grid's interpolation towards a
report that came later (see _stock_history).

Entry points take a Polars long frame (`series_id, date, value[, hierarchy...]`), so the
store-backed variant is `predict(mobtrack.analytics.series(...), ...)`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from mobtrack.foresight import conformal, hierarchy
from mobtrack.foresight.candidates import ALL_MODELS, STOCK_ONLY_MODELS, ForecastCache, base_forecasts
from mobtrack.foresight.frame import SEASON_LENGTH, ForesightInputError, check_freq, normalise
from mobtrack.foresight.grid import future_dates, period_start, to_grid, truncate

OUTPUT_COLUMNS = ["series_id", "cutoff", "date", "model", "point", "lo80", "hi80", "lo95", "hi95"]
DEFAULT_WINDOWS = {"W": 12, "M": 12, "Y": 8}
# Conformal errors are weighted by 0.5 ** (age / HALF_LIFE) periods: displacement errors come in
# regimes (a surge, then calm), and a year-old surge should not set today's band as much as last
# month. Tried once (the only value tried), on PRMN where bands over-covered after 2017's surge.
HALF_LIFE = 6.0
SHRINK = 3.0  # weight of the level's pooled backtest score in model selection (see _select)


@dataclass
class Settings:
    freq: str
    horizon: int
    kind: str = "flow"
    hierarchy: list[str] = field(default_factory=list)
    models: tuple[str, ...] | None = None  # default: ALL_MODELS, less STOCK_ONLY_MODELS for flows
    windows: int | None = None  # backtest origins per horizon used for selection and calibration
    n_jobs: int = 1

    def __post_init__(self) -> None:
        self.freq = check_freq(self.freq)
        if self.horizon < 1:
            raise ForesightInputError("horizon must be at least 1")
        if self.models is None:
            self.models = tuple(m for m in ALL_MODELS if self.kind == "stock" or m not in STOCK_ONLY_MODELS)
        unknown = [m for m in self.models if m not in ALL_MODELS]
        if unknown or "Naive" not in self.models:
            raise ForesightInputError(f"models must include Naive and come from {', '.join(ALL_MODELS)}")
        if self.windows is None:
            self.windows = DEFAULT_WINDOWS[self.freq]


@dataclass
class CutoffResult:
    """Forecasts at one cutoff plus what early warnings need (normalised backtest errors)."""

    frame: pl.DataFrame
    node_ids: list[str]
    point: np.ndarray  # (n_nodes, H)
    scale: np.ndarray  # (n_nodes,)
    errors: np.ndarray  # normalised backtest errors (n_nodes, n_origins, H)
    reconciliation: str | None


def predict(frame: pl.DataFrame, freq: str, horizon: int, **options) -> pl.DataFrame:
    """Forecast `horizon` periods past the last observation (the cutoff is the last observed date)."""
    settings = Settings(freq=freq, horizon=horizon, **options)
    data = normalise(frame, settings.hierarchy)
    return forecast_at(data, data["date"].max(), settings, ForecastCache()).frame


def backtest(
    frame: pl.DataFrame,
    freq: str,
    horizon: int,
    cutoffs: list[date],
    progress: Callable[[int], None] | None = None,
    **options,
) -> pl.DataFrame:
    """Forecasts made at each cutoff from the data up to it; same columns as predict()."""
    return pl.concat([r.frame for r in backtest_results(frame, freq, horizon, cutoffs, progress, **options)])


def backtest_results(
    frame: pl.DataFrame,
    freq: str,
    horizon: int,
    cutoffs: list[date],
    progress: Callable[[int], None] | None = None,
    **options,
) -> list[CutoffResult]:
    settings = Settings(freq=freq, horizon=horizon, **options)
    if not cutoffs:
        raise ForesightInputError("give at least one cutoff date")
    data = normalise(frame, settings.hierarchy)
    cache = ForecastCache()  # shared across cutoffs: identical histories are fitted once
    results = []
    for k, cut in enumerate(sorted(cutoffs)):
        results.append(forecast_at(data, cut, settings, cache))
        if progress:
            progress(k + 1)
    return results


def forecast_at(data: pl.DataFrame, cutoff: date, s: Settings, cache: ForecastCache) -> CutoffResult:
    """Forecasts made at `cutoff` from `data` (already normalised); reads nothing after it."""
    seen = truncate(data, cutoff, s.freq)
    if seen.height == 0:
        raise ForesightInputError(f"cutoff {cutoff}: no observations on or before it")
    grid = to_grid(seen, s.freq, s.kind)
    c = grid.index_of(cutoff)
    if c < 2:
        raise ForesightInputError(f"cutoff {cutoff}: need at least 3 periods of history before forecasting")
    leaf_values = np.full((len(grid.ids), c + 1), np.nan)
    leaf_values[:, : grid.values.shape[1]] = grid.values[:, : c + 1]
    if c + 1 > grid.values.shape[1]:
        # Cutoff after the last report: flows saw nothing (0), stocks hold their last value.
        fill = 0.0 if s.kind == "flow" else grid.values[:, -1:]
        leaf_values[:, grid.values.shape[1] :] = fill

    hier = hierarchy.build(seen, s.hierarchy, grid.ids) if s.hierarchy else None
    values = hierarchy.aggregate(hier, leaf_values) if hier else leaf_values
    leaf_obs = np.zeros(leaf_values.shape, dtype=bool)
    leaf_obs[:, : grid.values.shape[1]] = grid.observed[:, : c + 1]
    obs = hierarchy.observed(hier, leaf_values, leaf_obs) if hier else leaf_obs
    node_ids = hier.node_ids if hier else grid.ids
    H, K = s.horizon, s.windows
    origins = list(range(max(1, c - K - H + 1), c)) + [c]
    history = None
    if s.kind == "stock":
        history = _stock_history(hier, leaf_values, leaf_obs)
    F = base_forecasts(values, origins, H, SEASON_LENGTH[s.freq], s.models, cache, s.n_jobs, history, s.kind)

    cal = np.array(origins[:-1], dtype=int)
    targets = cal[:, None] + np.arange(1, H + 1)[None, :]  # (n_cal, H)
    actual = np.full((values.shape[0], len(cal), H), np.nan)
    ok = targets <= c
    actual[:, ok] = values[:, targets[ok]]
    if s.kind == "stock":
        # An interpolated stock is a straight line drawn between two reports: scoring models or
        # calibrating intervals on it would reward exactly that line and make intervals too
        # narrow. Only periods with a report count as evidence.
        seen = np.zeros_like(actual, dtype=bool)
        seen[:, ok] = obs[:, targets[ok]]
        actual[~seen] = np.nan

    scale = conformal.series_scale(values)
    groups = np.array([0] * len(node_ids)) if hier is None else _level_codes(hier)
    chosen = _select(F[:, :, :-1], actual, scale, groups, s.models)
    P = F[chosen, np.arange(len(node_ids))]  # (n_nodes, n_origins, H)

    method = None
    if hier is not None:
        method, P = _reconcile(hier, P, actual, scale)
    # Each backtest error is normalised by the scale its own origin saw (not today's), so that
    # a calm spell followed by a surge is not calibrated with today's larger yardstick.
    known = history or (lambda o: values[:, : o + 1])
    origin_scale = np.stack([conformal.series_scale(known(o)) for o in cal], axis=1) if len(cal) else scale[:, None]
    errors = (actual - P[:, :-1]) / origin_scale[:, :, None]
    floors = -P[:, :-1] / origin_scale[:, :, None]  # an actual cannot be below zero
    recency = 0.5 ** ((c - 1 - cal) / HALF_LIFE)[None, :, None]
    offsets = conformal.interval_offsets(errors, groups=groups, floors=floors, weights=recency)

    point = P[:, -1]
    out = {"point": point}
    for level, off in offsets.items():
        out[f"lo{level}"] = np.clip(point + off[..., 0] * scale[:, None], 0.0, None)
        out[f"hi{level}"] = np.clip(point + off[..., 1] * scale[:, None], 0.0, None)
    labels = [s.models[k] + (f"+{method}" if method else "") for k in chosen]
    dates = future_dates(period_start(grid.dates[0], s.freq), s.freq, c + H)[c:]
    n = len(node_ids)
    frame = pl.DataFrame(
        {
            "series_id": np.repeat(np.array(node_ids, dtype=object), H),
            "cutoff": [cutoff] * (n * H),
            "date": dates * n,
            "model": np.repeat(np.array(labels, dtype=object), H),
            **{k: v.reshape(-1) for k, v in out.items()},
        },
        schema_overrides={"series_id": pl.Utf8, "model": pl.Utf8, "cutoff": pl.Date, "date": pl.Date},
    ).select(OUTPUT_COLUMNS)
    return CutoffResult(frame, node_ids, point, scale, errors, method)


def _stock_history(hier, leaf_values: np.ndarray, leaf_obs: np.ndarray) -> Callable[[int], np.ndarray]:
    """Node values as they were known at an origin: each leaf held flat after its last report
    up to that origin, then summed up the hierarchy.

    The grid interpolates a stock between reports, so at a backtest origin between two
    reports the grid already points to the next one, which nobody knew then. Forecasting
    from that line would make the backtest (model choice and interval calibration) look
    better than a real forecast, which always starts from a flat tail.
    """

    def history(origin: int) -> np.ndarray:
        leaves = leaf_values[:, : origin + 1].copy()
        seen = leaf_obs[:, : origin + 1]
        idx = np.where(seen, np.arange(origin + 1)[None, :], -1)
        last = np.maximum.accumulate(idx, axis=1)  # index of the latest report so far (-1: none)
        rows = np.arange(leaves.shape[0])[:, None]
        held = np.where(last >= 0, leaves[rows, np.maximum(last, 0)], leaves)
        last_report = last[:, -1:]
        after = np.arange(origin + 1)[None, :] > last_report
        leaves = np.where(after & (last_report >= 0), held, leaves)
        return hierarchy.aggregate(hier, leaves) if hier else leaves

    return history


def _level_codes(hier) -> np.ndarray:
    names = sorted(set(hier.levels))
    return np.array([names.index(level) for level in hier.levels])


def _select(
    F_cal: np.ndarray, actual: np.ndarray, scale: np.ndarray, groups: np.ndarray, models: tuple[str, ...]
) -> np.ndarray:
    """Per series, the model with the lowest backtest score (Naive where nothing can be judged).

    A series' own score is its scaled backtest MAE over the calibration origins. A dozen
    windows of one noisy series pick the luckiest of eleven models more often than the best, so
    the score adds SHRINK times the model's pooled scaled MAE over the series of the same
    hierarchy level: a series departs from its level's best model only when its own backtest
    says so clearly.
    """
    err = np.abs(F_cal - actual[None]) / scale[None, :, None, None]
    counts = np.isfinite(err).sum(axis=(2, 3))
    own = np.where(counts > 0, np.nansum(err, axis=(2, 3)) / np.maximum(counts, 1), np.nan)
    # Models that could not forecast a window (NaN) must not win by having fewer windows.
    own = np.where(counts < counts.max(axis=0, keepdims=True), np.nan, own)
    pooled = np.zeros_like(own)
    for g in np.unique(groups):
        members = groups == g
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a model with no window anywhere in the level
            pooled[:, members] = np.nanmean(own[:, members], axis=1, keepdims=True)
    score = np.where(np.isnan(own), np.inf, own + SHRINK * np.nan_to_num(pooled, nan=np.inf))
    chosen = np.argmin(score, axis=0)
    chosen[~np.isfinite(score.min(axis=0))] = models.index("Naive")
    return chosen


def _reconcile(hier, P: np.ndarray, actual: np.ndarray, scale: np.ndarray) -> tuple[str, np.ndarray]:
    """Pick the reconciliation method by scaled backtest error and apply it to every origin."""
    n, n_orig, H = P.shape
    residuals = actual[:, :, 0] - P[:, :-1, 0]
    residuals = residuals[:, np.isfinite(residuals).all(axis=0)]
    best, best_score, best_rec = None, np.inf, None
    for method in hierarchy.METHODS:
        try:
            rec = hierarchy.reconcile(hier, method, P.reshape(n, -1), residuals).reshape(n, n_orig, H)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
            continue
        err = np.abs(rec[:, :-1] - actual) / scale[:, None, None]
        score = np.nanmean(err) if np.isfinite(err).any() else np.inf
        if score < best_score or best is None:
            best, best_score, best_rec = method, score, rec
    if best is None:  # every method failed on every origin: fall back origin by origin
        rec = np.stack(
            [hierarchy.reconcile_with_fallback(hier, "bottom_up", P[:, j], residuals)[0] for j in range(n_orig)],
            axis=1,
        )
        return "bottom_up", rec
    return best, best_rec
