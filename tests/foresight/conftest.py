"""Synthetic series for the foresight tests (generated here, no real data)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest


def make_panel(n_leaves: int = 4, months: int = 40, seed: int = 0, level: float = 200.0) -> pl.DataFrame:
    """Monthly arrivals for leaves in two admin1 areas of one country, with seasonality and noise."""
    rng = np.random.default_rng(seed)
    dates = pl.date_range(date(2016, 1, 1), date(2016 + (months - 1) // 12, (months - 1) % 12 + 1, 1), "1mo", eager=True)
    rows = []
    for i in range(n_leaves):
        base = level * (1 + i)
        season = 1 + 0.3 * np.sin(np.arange(months) * 2 * np.pi / 12 + i)
        values = rng.poisson(base * season)
        admin1 = "North" if i % 2 == 0 else "South"
        for d, v in zip(dates, values, strict=True):
            rows.append((f"L{i}", "XYZ", admin1, d, float(v)))
    return pl.DataFrame(rows, schema=["series_id", "country", "admin1", "date", "value"], orient="row")


@pytest.fixture
def panel() -> pl.DataFrame:
    return make_panel()


FAST_MODELS = ("Naive", "WindowAverage", "WindowMedian", "ARIMA")
