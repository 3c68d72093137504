"""Forecasting displacement with honest uncertainty (issue 5).

    from mobtrack.foresight import predict, backtest, read_long_csv
    pred = predict(read_long_csv("arrivals.csv", ["country", "admin1"]), "M", 3,
                   hierarchy=["country", "admin1"])

Any Polars long frame `series_id, date, value` (+ hierarchy columns) works, e.g. the one
`mobtrack.analytics.series(...)` returns for the store.
"""

from mobtrack.foresight.engine import OUTPUT_COLUMNS, backtest, backtest_results, forecast_at, predict
from mobtrack.foresight.frame import ForesightInputError, normalise, read_long_csv

__all__ = [
    "OUTPUT_COLUMNS",
    "ForesightInputError",
    "backtest",
    "backtest_results",
    "forecast_at",
    "normalise",
    "predict",
    "read_long_csv",
]
