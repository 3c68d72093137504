"""forecast_places: the forecast at the last report plus per-series backtest skill and warning Brier scores."""

from datetime import date

import polars as pl
import pytest

from mobtrack.foresight.places import backtest_cutoffs, forecast_places


def monthly(values_by_id: dict[str, list[float]]) -> pl.DataFrame:
    rows = []
    for sid, values in values_by_id.items():
        for i, v in enumerate(values):
            rows.append((sid, date(2020 + (i // 12), i % 12 + 1, 15), float(v)))
    return pl.DataFrame(rows, schema=["series_id", "date", "value"], orient="row")


def test_backtest_cutoffs_leave_three_periods_of_history():
    assert backtest_cutoffs(date(2020, 6, 15), date(2020, 1, 15), "M", 6) == [
        date(2020, 3, 1), date(2020, 4, 1), date(2020, 5, 1)]
    assert backtest_cutoffs(date(2021, 6, 15), date(2020, 1, 15), "M", 2) == [date(2021, 4, 1), date(2021, 5, 1)]


def test_skill_is_measured_against_naive_out_of_sample():
    data = monthly({"trend": [100 + 10 * t for t in range(24)], "flat": [50] * 24})
    result = forecast_places(data, "M", 2, backtests=4)
    assert result.predictions["series_id"].unique().sort().to_list() == ["flat", "trend"]
    assert result.cutoff == date(2021, 12, 15) and len(result.backtest_cutoffs) == 4
    skill = {r["series_id"]: r for r in result.skill.iter_rows(named=True)}
    # a straight line: naive is 10 per month off, a trend model is nearly exact
    # 4 cutoffs x h=1 (off by 10) and h=2 (off by 20), except the last cutoff's h=2, past the data
    assert skill["trend"]["scored"] == 7 and skill["trend"]["mae_naive"] == pytest.approx((4 * 10 + 3 * 20) / 7)
    assert skill["trend"]["relative_mae"] < 0.5
    # naive is exact on a flat series: no ratio rather than a division by zero
    assert skill["flat"]["mae_naive"] == 0 and skill["flat"]["relative_mae"] is None


def test_warning_thresholds_and_their_brier_score():
    data = monthly({"trend": [100 + 10 * t for t in range(24)], "flat": [50] * 24})
    rising = forecast_places(data, "M", 2, rise=0.0, backtests=4)
    got = {r["series_id"]: r for r in rising.warnings.iter_rows(named=True)}
    assert got["trend"]["threshold"] == 330 and got["trend"]["probability"] > 0.9  # it keeps rising
    assert got["flat"]["probability"] == 0  # nothing ever moved
    assert rising.brier_scored > 0 and rising.brier < rising.brier_reference + 1e-9
    given = forecast_places(data, "M", 2, thresholds={"flat": 10.0}, backtests=4)
    assert given.warnings.filter(pl.col("series_id") == "flat")["probability"][0] == 1
