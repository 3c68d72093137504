"""Put irregular observations on a regular weekly, monthly or yearly grid.

Flows (arrivals, new displacements) are summed within each period. Stocks (people present
in a camp, displaced population) keep the last observation in the period and are linearly
interpolated between observed periods. Gaps are explicit: every grid cell says whether it
was observed, and the filled values are a documented choice, not a silent one:

- flows: a period with no report is 0 (a place reports arrivals when there are some);
- stocks: interior gaps are interpolated; periods after the last observation carry the last
  value forward (interpolating there would need the *next* observation, i.e. the future).

Periods are labelled by their first day (weeks start on Monday).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from mobtrack.foresight.frame import FREQS, ForesightInputError, check_freq

KINDS = ("flow", "stock")


@dataclass(frozen=True)
class Grid:
    """Series on a shared calendar. `values` is NaN before a series' first observation."""

    ids: list[str]
    dates: list[date]
    values: np.ndarray  # shape (n_series, n_periods)
    observed: np.ndarray  # bool, same shape: True where the period had at least one report
    freq: str

    def index_of(self, day: date) -> int:
        """Index of the period containing `day` (may be past the end of the grid)."""
        return period_index(self.dates[0], period_start(day, self.freq), self.freq)

    def to_frame(self) -> pl.DataFrame:
        n, t = self.values.shape
        return pl.DataFrame(
            {
                "series_id": np.repeat(np.array(self.ids, dtype=object), t),
                "date": self.dates * n,
                "value": self.values.ravel(),
                "observed": self.observed.ravel(),
            }
        ).filter(pl.col("value").is_not_nan())


def period_start(day: date, freq: str) -> date:
    return pl.select(pl.lit(day).dt.truncate(FREQS[freq])).item()


def period_index(first: date, start: date, freq: str) -> int:
    if freq == "Y":
        return start.year - first.year
    if freq == "M":
        return (start.year - first.year) * 12 + start.month - first.month
    return (start - first).days // 7


def future_dates(last: date, freq: str, horizon: int) -> list[date]:
    """The `horizon` period starts after the period starting on `last`."""
    end = pl.Series([last]).dt.offset_by(f"{horizon}{FREQS[freq][1:]}")[0]
    return pl.date_range(last, end, FREQS[freq], eager=True).to_list()[1:]


def truncate(frame: pl.DataFrame, cutoff: date, freq: str) -> pl.DataFrame:
    """Keep the observations in periods up to and including the one containing `cutoff`."""
    freq = check_freq(freq)
    end = future_dates(period_start(cutoff, freq), freq, 1)[0]
    return frame.filter(pl.col("date") < end)


def to_grid(frame: pl.DataFrame, freq: str, kind: str = "flow") -> Grid:
    """Regularise a normalised long frame (see frame.normalise) onto the `freq` grid."""
    freq = check_freq(freq)
    if kind not in KINDS:
        raise ForesightInputError(f"kind must be 'flow' or 'stock' (got {kind!r})")
    if frame.height == 0:
        raise ForesightInputError("no observations to put on a grid")
    per = frame.with_columns(pl.col("date").dt.truncate(FREQS[freq]).alias("period"))
    if kind == "flow":
        agg = per.group_by("series_id", "period").agg(pl.col("value").sum())
    else:
        agg = per.sort("date").group_by("series_id", "period").agg(pl.col("value").last())
    first, last = agg["period"].min(), agg["period"].max()
    dates = pl.date_range(first, last, FREQS[freq], eager=True).to_list()
    ids = sorted(agg["series_id"].unique().to_list())
    row = {s: i for i, s in enumerate(ids)}
    col = {d: j for j, d in enumerate(dates)}

    values = np.full((len(ids), len(dates)), np.nan)
    r = np.fromiter((row[s] for s in agg["series_id"]), dtype=np.int64, count=agg.height)
    c = np.fromiter((col[d] for d in agg["period"]), dtype=np.int64, count=agg.height)
    values[r, c] = agg["value"].to_numpy()
    observed = ~np.isnan(values)
    return Grid(ids=ids, dates=dates, values=_fill(values, observed, kind), observed=observed, freq=freq)


def _fill(values: np.ndarray, observed: np.ndarray, kind: str) -> np.ndarray:
    """Fill gaps after each series' first observation; leave the time before it as NaN."""
    t = values.shape[1]
    started = np.maximum.accumulate(observed, axis=1)
    out = values.copy()
    if kind == "flow":
        out[started & ~observed] = 0.0
        return out
    idx = np.arange(t)
    for i in np.flatnonzero((started & ~observed).any(axis=1)):
        known = np.flatnonzero(observed[i])
        # np.interp holds the end values flat outside the known range: that is the
        # carry-forward after the last observation; the part before the first is reset below.
        out[i] = np.interp(idx, known, values[i, known])
        out[i, ~started[i]] = np.nan
    return out
