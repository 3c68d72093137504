"""Forecasts of places' figures, with each series' backtest skill and early warnings.

The store's figures are stocks (people present at each round's reporting date), one series per
place. `forecast_places` is what `mobtrack forecast predict --country` and the web API/dashboard
share: the forecast made at the last observation, plus the same engine run at up to `backtests`
earlier period starts (each from the data up to it), which is what the per-series skill against
naive and the Brier score of the warnings are measured on. Nothing here is fitted in-sample.

    from mobtrack.foresight.places import forecast_places, store_series
    result = forecast_places(store_series(conn, RoundFilter(country_iso3="SOM"), 1), "M", 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from mobtrack.foresight.engine import backtest_results
from mobtrack.foresight.frame import ForesightInputError, check_freq, normalise
from mobtrack.foresight.grid import future_dates, period_start
from mobtrack.foresight.metrics import attach_actuals, brier
from mobtrack.foresight.warning import exceedance

KIND = "stock"  # a round counts the people present: a stock, interpolated between reports
MIN_HISTORY = 3  # reports a place needs before it is forecast (the engine needs 3 periods)
BACKTESTS = 6  # earlier cutoffs scored for skill and Brier: enough to judge, cheap to refit (shared cache)

SKILL_SCHEMA = {"series_id": pl.String, "scored": pl.Int64, "mae": pl.Float64, "mae_naive": pl.Float64,
                "relative_mae": pl.Float64, "coverage80": pl.Float64, "coverage95": pl.Float64}
WARNING_SCHEMA = {"series_id": pl.String, "latest": pl.Float64, "threshold": pl.Float64, "k": pl.Int64,
                  "probability": pl.Float64, "brier": pl.Float64, "scored": pl.Int64}


@dataclass
class PlaceForecasts:
    predictions: pl.DataFrame  # engine.OUTPUT_COLUMNS, made at the last observation
    skill: pl.DataFrame  # SKILL_SCHEMA: backtest MAE of the chosen pipeline against naive, per series
    warnings: pl.DataFrame  # WARNING_SCHEMA: P(figure > threshold within k periods), per series
    cutoff: date
    backtest_cutoffs: list[date]
    brier: float | None  # pooled over every scored (series, backtest cutoff)
    brier_reference: float | None  # the same outcomes forecast by their own event rate (a constant)
    brier_scored: int


def store_series(conn, where, level: int, group: str = "idps", unit: str = "individuals") -> pl.DataFrame:
    """The stored (unprotected) figures of each place at `level`: `series_id` (operation/pcode), `date`
    (the round's reporting date), `value`. For the command line, whose users run the database."""
    from mobtrack.analytics import series

    frame = series(conn, where, level, group, unit)
    frame = frame.filter(pl.col("value").is_not_null() & pl.col("date").is_not_null())
    return frame.select("series_id", "date", pl.col("value").cast(pl.Float64))


def backtest_cutoffs(last: date, first: date, freq: str, count: int = BACKTESTS) -> list[date]:
    """Up to `count` period starts before the one holding `last`, each with MIN_HISTORY periods before it."""
    start = period_start(first, freq)
    earliest = future_dates(start, freq, MIN_HISTORY - 1)[-1]
    out, probe = [], period_start(last, freq)
    for _ in range(count):
        probe = _previous(probe, freq)
        if probe < earliest:
            break
        out.append(probe)
    return sorted(out)


def _previous(day: date, freq: str) -> date:
    offset = {"W": "-1w", "M": "-1mo", "Y": "-1y"}[freq]
    return pl.Series([day]).dt.offset_by(offset)[0]


def forecast_places(data: pl.DataFrame, freq: str, horizon: int, *, k: int | None = None, rise: float = 0.25,
                    thresholds: dict[str, float] | None = None, backtests: int = BACKTESTS,
                    models: tuple[str, ...] | None = None) -> PlaceForecasts:
    """Forecast every series `horizon` periods past the last observation, with skill and warnings.

    The warning threshold of a place is `thresholds[series_id]` when given, else its latest figure
    times (1 + rise); at a backtest cutoff it is computed the same way from what was known then.
    """
    freq = check_freq(freq)
    k = horizon if k is None else k
    if not 1 <= k <= horizon:
        raise ForesightInputError(f"k must be between 1 and the horizon ({horizon})")
    options = {"kind": KIND, **({"models": models} if models else {})}
    data = normalise(data)
    last, first = data["date"].max(), data["date"].min()
    cuts = backtest_cutoffs(last, first, freq, backtests)
    results = backtest_results(data, freq, horizon, [*cuts, last], **options)
    current, past = results[-1], results[:-1]

    latest = data.sort("date").group_by("series_id").agg(pl.col("value").last().alias("latest"))
    warn = _warnings(current, latest, thresholds, rise, k)
    skill = pl.DataFrame(schema=SKILL_SCHEMA)
    pooled: tuple[float | None, float | None, int] = (None, None, 0)
    if past:
        scored = attach_actuals(pl.concat([r.frame for r in past]), data, freq, KIND)
        if scored.height:
            skill = _skill(scored)
            per_series, pooled = _brier(past, scored, thresholds, rise, k, freq, last)
            warn = warn.drop("brier", "scored").join(per_series, on="series_id", how="left").with_columns(
                pl.col("scored").fill_null(0)).select(list(WARNING_SCHEMA))
    return PlaceForecasts(current.frame, skill, warn, current.frame["cutoff"][0] if current.frame.height else last,
                          cuts, *pooled)


def _thresholds(latest: pl.DataFrame, given: dict[str, float] | None, rise: float) -> dict[str, float]:
    out = {sid: value * (1 + rise) for sid, value in latest.iter_rows()}
    if given:
        out.update({sid: float(v) for sid, v in given.items() if sid in out})
    return out


def _warnings(result, latest: pl.DataFrame, given, rise: float, k: int) -> pl.DataFrame:
    p = exceedance(result, _thresholds(latest, given, rise), k, partial=True)
    return (p.join(latest, on="series_id", how="left")
            .with_columns(pl.lit(None, pl.Float64).alias("brier"), pl.lit(0, pl.Int64).alias("scored"))
            .select([pl.col(c).cast(t) for c, t in WARNING_SCHEMA.items()]))


def _skill(scored: pl.DataFrame) -> pl.DataFrame:
    """Per series: MAE of the forecasts and of naive over the scored backtest targets (all horizons)."""
    err = (pl.col("point") - pl.col("actual")).abs()
    naive = (pl.col("naive") - pl.col("actual")).abs()
    return scored.group_by("series_id").agg(
        pl.len().cast(pl.Int64).alias("scored"), err.mean().alias("mae"), naive.mean().alias("mae_naive"),
        ((pl.col("actual") >= pl.col("lo80")) & (pl.col("actual") <= pl.col("hi80"))).mean().alias("coverage80"),
        ((pl.col("actual") >= pl.col("lo95")) & (pl.col("actual") <= pl.col("hi95"))).mean().alias("coverage95"),
    ).with_columns(
        # Naive exact on every target (a flat series): a ratio would divide by zero, so none is given.
        pl.when(pl.col("mae_naive") > 0).then(pl.col("mae") / pl.col("mae_naive")).alias("relative_mae"),
    ).select([pl.col(c).cast(t) for c, t in SKILL_SCHEMA.items()]).sort("series_id")


def _brier(past, scored: pl.DataFrame, given, rise: float, k: int, freq: str, last: date):
    """Brier score of the warning probabilities at the backtest cutoffs, per series and pooled.

    The outcome at a cutoff is known when at least one report falls in the k periods after it and
    the window has ended inside the data: it is whether a reported figure exceeded the threshold.
    """
    none = pl.DataFrame(schema={"series_id": pl.String, "brier": pl.Float64, "scored": pl.Int64})
    actual = scored.filter(pl.col("h") <= k).group_by("series_id", "cutoff").agg(pl.col("actual").max().alias("peak"))
    end = period_start(last, freq)
    rows = []
    for res in past:
        cut = res.frame["cutoff"][0]
        if future_dates(period_start(cut, freq), freq, k)[-1] > end:
            continue  # the k periods after this cutoff are not over yet: the outcome is unknown
        # What was known at the cutoff: the naive forecast is the last value seen then.
        known = scored.filter(pl.col("cutoff") == cut).group_by("series_id").agg(pl.col("naive").first().alias(
            "latest"))
        if known.is_empty():
            continue
        p = exceedance(res, _thresholds(known, given, rise), k, partial=True)
        rows.append(p.join(actual.filter(pl.col("cutoff") == cut), on="series_id", how="inner"))
    if not rows:
        return none, (None, None, 0)
    # No probability at a cutoff without backtest errors behind it yet: nothing to score there.
    both = pl.concat(rows, how="vertical_relaxed").filter(pl.col("probability").is_not_nan())
    both = both.with_columns((pl.col("peak") > pl.col("threshold")).cast(pl.Float64).alias("hit"))
    if both.is_empty():
        return none, (None, None, 0)
    per = both.group_by("series_id").agg(((pl.col("probability") - pl.col("hit")) ** 2).mean().alias("brier"),
                                         pl.len().cast(pl.Int64).alias("scored"))
    rate = float(both["hit"].mean())
    prob, hit = both["probability"].to_numpy(), both["hit"].to_numpy()
    return per, (brier(prob, hit), brier(np.full(len(hit), rate), hit), len(hit))
