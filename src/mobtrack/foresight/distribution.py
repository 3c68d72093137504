"""How a total spreads across places (camps, destinations), and the baseline to beat.

The baseline is "frozen shares x total": each place keeps the share of the total it had at
the cutoff. The engine's distribution instead forecasts every place and takes the shares of
those forecasts, so places that were growing keep growing. Both are multiplied by the same
total (a forecast of it, or the observed one when only the split is being judged, as the
Flee literature does), so a comparison isolates how well the split is predicted.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from mobtrack.foresight.frame import normalise
from mobtrack.foresight.grid import future_dates, period_start, to_grid, truncate


def frozen_shares(data: pl.DataFrame, cutoffs: list[date], freq: str, horizon: int, kind: str = "stock") -> pl.DataFrame:
    """`series_id, cutoff, date, share`: each place's share at the cutoff, held for `horizon` periods."""
    data = normalise(data)
    rows = []
    for cut in cutoffs:
        grid = to_grid(truncate(data, cut, freq), freq, kind)
        c = grid.index_of(cut)
        last = grid.values[:, min(c, grid.values.shape[1] - 1)]
        if kind == "flow" and c >= grid.values.shape[1]:
            last = last * 0.0
        frame = pl.DataFrame({"series_id": grid.ids, "value": last}).fill_nan(0.0)
        total = frame["value"].sum()
        frame = frame.with_columns((pl.col("value") / total if total > 0 else pl.lit(1.0 / frame.height)).alias("share"))
        dates = future_dates(period_start(cut, freq), freq, horizon)
        rows.append(
            frame.join(pl.DataFrame({"date": dates}), how="cross").select(
                "series_id", pl.lit(cut, dtype=pl.Date).alias("cutoff"), "date", "share"
            )
        )
    return pl.concat(rows)


def forecast_shares(pred: pl.DataFrame, series: list[str] | None = None) -> pl.DataFrame:
    """Shares implied by the engine's point forecasts (restricted to `series`, e.g. the leaves)."""
    if series is not None:
        pred = pred.filter(pl.col("series_id").is_in(series))
    total = pl.col("point").sum().over("cutoff", "date")
    n = pl.len().over("cutoff", "date")
    return pred.select(
        "series_id",
        "cutoff",
        "date",
        pl.when(total > 0).then(pl.col("point") / total).otherwise(1.0 / n).alias("share"),
    )


def distribute(shares: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    """Multiply shares by a total per (cutoff, date) or per date: adds `point`."""
    keys = [k for k in ("cutoff", "date") if k in totals.columns]
    return shares.join(totals, on=keys, how="inner").with_columns((pl.col("share") * pl.col("total")).alias("point"))
