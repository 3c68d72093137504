"""Early warning: the probability that a place's arrivals exceed a threshold within k periods.

The probability comes from the same backtest errors as the intervals: every normalised error
path (h = 1..k, from one series and origin) is added to this place's forecast path, rescaled
to its size; the share of paths that cross the threshold at least once is the probability.
Using whole paths keeps the dependence between horizons (a miss at h=1 tends to continue).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mobtrack.foresight.engine import CutoffResult


def exceedance(result: CutoffResult, thresholds: dict[str, float] | float, k: int,
               partial: bool = False) -> pl.DataFrame:
    """`series_id, cutoff, threshold, k, probability` for every node with a threshold.

    `partial`: also use error paths with unreported steps, crossing tested on their reported steps
    only. For stocks reported less often than the grid (a round every two months on a monthly grid)
    no path is complete; the event is then "a reported figure exceeds the threshold", which is
    also how a backtest can score it.
    """
    horizon = result.point.shape[1]
    if not 1 <= k <= horizon:
        raise ValueError(f"k must be between 1 and the forecast horizon ({horizon})")
    paths = result.errors[:, :, :k].reshape(-1, k)
    paths = paths[np.isfinite(paths).any(axis=1) if partial else np.isfinite(paths).all(axis=1)]
    if isinstance(thresholds, int | float):
        thr = np.full(len(result.node_ids), float(thresholds))
    else:
        thr = np.array([thresholds.get(i, np.nan) for i in result.node_ids], dtype=float)
    probs = np.full(len(result.node_ids), np.nan)
    if paths.size:
        # (n_nodes, n_paths, k): each place's forecast path plus every rescaled error path.
        sims = np.clip(result.point[:, None, :k] + paths[None] * result.scale[:, None, None], 0.0, None)
        probs = (np.nan_to_num(sims, nan=-np.inf).max(axis=2) > thr[:, None]).mean(axis=1)
    cutoff = result.frame["cutoff"][0]
    return pl.DataFrame(
        {
            "series_id": result.node_ids,
            "cutoff": [cutoff] * len(result.node_ids),
            "threshold": thr,
            "k": [k] * len(result.node_ids),
            "probability": probs,
        },
        schema_overrides={"cutoff": pl.Date},
    ).filter(pl.col("threshold").is_not_nan())
