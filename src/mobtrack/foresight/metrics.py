"""Scoring forecasts against what happened: the figures the benchmark report prints.

- MAE relative to naive: sum |error| of the model / sum |error| of "next = last observed",
  pooled over series and cutoffs (so big places weigh more, as people do);
- MASE: mean of |error| / (mean absolute one-step change of the series' history to the cutoff);
- WAPE: sum |error| / sum actual;
- coverage of the 80%/95% intervals, and the Winkler (interval) score, in series-scale units;
- ARD (Flee): sum over places |forecast - observed| / total observed, averaged over dates;
- Brier score for probability forecasts.
The naive forecast is rebuilt from the data truncated at each cutoff, like the engine sees it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from mobtrack.foresight import hierarchy as hier_mod
from mobtrack.foresight.frame import normalise
from mobtrack.foresight.grid import to_grid, truncate


def node_values(data: pl.DataFrame, freq: str, kind: str, hierarchy: list[str] | None) -> pl.DataFrame:
    """`series_id, date, value, observed` on the grid for every node (leaves and aggregates)."""
    grid = to_grid(data, freq, kind)
    values, observed, ids = grid.values, grid.observed, grid.ids
    if hierarchy:
        h = hier_mod.build(data, hierarchy, grid.ids)
        values, observed, ids = hier_mod.aggregate(h, values), hier_mod.observed(h, values, observed), h.node_ids
    n, t = values.shape
    return pl.DataFrame(
        {
            "series_id": np.repeat(np.array(ids, dtype=object), t),
            "date": grid.dates * n,
            "value": values.ravel(),
            "observed": observed.ravel(),
        },
        schema_overrides={"series_id": pl.Utf8, "date": pl.Date},
    ).filter(pl.col("value").is_not_nan())


def attach_actuals(
    pred: pl.DataFrame, data: pl.DataFrame, freq: str, kind: str = "flow", hierarchy: list[str] | None = None
) -> pl.DataFrame:
    """Add `h, actual, naive, scale` to backtest predictions (rows without an actual are dropped)."""
    data = normalise(data, hierarchy)
    truth = node_values(data, freq, kind, hierarchy).rename({"value": "actual"})
    if kind == "stock":
        # Score stocks only where there was a report, not on interpolated periods.
        truth = truth.filter(pl.col("observed"))
    truth = truth.drop("observed")
    bases = []
    for cut in pred["cutoff"].unique().sort().to_list():
        seen = node_values(truncate(data, cut, freq), freq, kind, hierarchy).drop("observed")
        per = seen.sort("date").group_by("series_id").agg(
            pl.col("value").last().alias("naive"),
            pl.col("value").diff().abs().mean().fill_null(1.0).clip(lower_bound=1.0).alias("scale"),
        )
        bases.append(per.with_columns(pl.lit(cut, dtype=pl.Date).alias("cutoff")))
    base = pl.concat(bases)
    # h from the prediction rows themselves, before rows past the end of the data drop out.
    ranked = pred.with_columns(pl.col("date").rank("dense").over("series_id", "cutoff").cast(pl.Int32).alias("h"))
    return (
        ranked.join(truth, on=["series_id", "date"], how="inner")
        .join(base, on=["series_id", "cutoff"], how="inner")
        .sort("series_id", "cutoff", "date")
    )


def _winkler(lo: pl.Expr, hi: pl.Expr, y: pl.Expr, alpha: float) -> pl.Expr:
    below = pl.when(y < lo).then((lo - y) * 2 / alpha).otherwise(0.0)
    above = pl.when(y > hi).then((y - hi) * 2 / alpha).otherwise(0.0)
    return hi - lo + below + above


def summary(scored: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """Headline metrics, optionally grouped (e.g. by=["h"])."""
    err = (pl.col("point") - pl.col("actual")).abs()
    naive_err = (pl.col("naive") - pl.col("actual")).abs()
    aggs = [
        pl.len().alias("n"),
        (err.sum() / naive_err.sum()).alias("rel_mae"),
        (err / pl.col("scale")).mean().alias("mase"),
        (naive_err / pl.col("scale")).mean().alias("mase_naive"),
        (err.sum() / pl.col("actual").sum()).alias("wape"),
        ((pl.col("actual") >= pl.col("lo80")) & (pl.col("actual") <= pl.col("hi80"))).mean().alias("cov80"),
        ((pl.col("actual") >= pl.col("lo95")) & (pl.col("actual") <= pl.col("hi95"))).mean().alias("cov95"),
        (_winkler(pl.col("lo80"), pl.col("hi80"), pl.col("actual"), 0.2) / pl.col("scale")).mean().alias("winkler80"),
        (_winkler(pl.col("lo95"), pl.col("hi95"), pl.col("actual"), 0.05) / pl.col("scale")).mean().alias("winkler95"),
    ]
    if by:
        return scored.group_by(by).agg(aggs).sort(by)
    return scored.select(aggs)


def ard(frame: pl.DataFrame, forecast: str = "point", observed: str = "actual", by: list[str] | None = None) -> float:
    """Averaged relative difference: mean over groups (dates) of sum|f - o| / sum o."""
    by = by or ["cutoff", "date"]
    per = frame.group_by(by).agg(
        ((pl.col(forecast) - pl.col(observed)).abs().sum() / pl.col(observed).sum()).alias("ard")
    )
    return float(per["ard"].mean())


def brier(prob: np.ndarray | pl.Series, outcome: np.ndarray | pl.Series) -> float:
    p = np.asarray(prob, dtype=float)
    o = np.asarray(outcome, dtype=float)
    return float(np.mean((p - o) ** 2))


def cutoff_range(first: date, last: date, freq: str) -> list[date]:
    """Every period start from `first` to `last` (a rolling-origin schedule)."""
    from mobtrack.foresight.frame import FREQS

    return pl.date_range(first, last, FREQS[freq], eager=True).to_list()
