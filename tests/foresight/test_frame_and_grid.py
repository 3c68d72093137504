from datetime import date

import numpy as np
import polars as pl
import pytest

from mobtrack.foresight.frame import ForesightInputError, normalise, read_long_csv
from mobtrack.foresight.grid import future_dates, to_grid, truncate


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("series_id,date\nA,2020-01-01\n")
    with pytest.raises(ForesightInputError, match="missing column.*value"):
        read_long_csv(path)


def test_bad_cells_are_reported_with_row_and_column(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("series_id,date,value\nA,2020-01-01,5\nA,2020-02-01,Not available\nA,2020-03-01,-3\n")
    with pytest.raises(ForesightInputError, match=r"'value': not a number in data row\(s\) 2"):
        read_long_csv(path)
    path.write_text("series_id,date,value\nA,2020-01-01,5\nA,31/02/2020,4\n")
    with pytest.raises(ForesightInputError, match=r"'date'.*row\(s\) 2"):
        read_long_csv(path)
    path.write_text("series_id,date,value\nA,2020-01-01,5\nA,2020-02-01,-3\n")
    with pytest.raises(ForesightInputError, match="negative"):
        read_long_csv(path)


def test_duplicate_rows_are_refused_not_summed():
    frame = pl.DataFrame({"series_id": ["A", "A"], "date": ["2020-01-01", "2020-01-01"], "value": ["1", "1"]})
    with pytest.raises(ForesightInputError, match="duplicated"):
        normalise(frame)


def test_series_under_two_paths_is_refused():
    frame = pl.DataFrame(
        {"series_id": ["A", "A"], "country": ["X", "Y"], "date": ["2020-01-01", "2020-02-01"], "value": [1, 2]}
    )
    with pytest.raises(ForesightInputError, match="more than one hierarchy path"):
        normalise(frame, ["country"])


def test_year_month_dates_and_empty_values_are_gaps():
    frame = pl.DataFrame({"series_id": ["A"] * 3, "date": ["2020-01", "2020-02", "2020-03"], "value": ["1", None, "3"]})
    out = normalise(frame)
    assert out["date"].to_list() == [date(2020, 1, 1), date(2020, 3, 1)]


def test_flows_are_summed_and_gaps_explicit():
    frame = normalise(
        pl.DataFrame(
            {
                "series_id": ["A", "A", "A", "B"],
                "date": ["2020-01-03", "2020-01-20", "2020-03-05", "2020-02-10"],
                "value": [5, 7, 1, 4],
            }
        )
    )
    grid = to_grid(frame, "M", "flow")
    assert grid.dates == [date(2020, 1, 1), date(2020, 2, 1), date(2020, 3, 1)]
    a, b = grid.values
    assert a.tolist() == [12.0, 0.0, 1.0]  # February had no report: 0, flagged as not observed
    assert grid.observed[0].tolist() == [True, False, True]
    assert np.isnan(b[0]) and b[1:].tolist() == [4.0, 0.0]  # nothing before B's first report


def test_stocks_interpolate_inside_and_carry_forward_after():
    frame = normalise(
        pl.DataFrame({"series_id": ["C"] * 3, "date": ["2020-01-15", "2020-04-02", "2020-04-20"], "value": [100, 400, 460]})
    )
    frame = pl.concat([frame, normalise(pl.DataFrame({"series_id": ["D"], "date": ["2020-06-01"], "value": [1]}))])
    grid = to_grid(frame, "M", "stock")
    c = grid.values[grid.ids.index("C")]
    # last observation in April (460) is the April value; Feb/Mar interpolated; May/June held.
    assert c.tolist() == [100.0, 220.0, 340.0, 460.0, 460.0, 460.0]


def test_weekly_grid_starts_on_monday_and_truncate_keeps_the_cutoff_period():
    frame = normalise(pl.DataFrame({"series_id": ["A"] * 3, "date": ["2021-03-03", "2021-03-07", "2021-03-08"], "value": [1, 2, 4]}))
    grid = to_grid(frame, "W", "flow")
    assert grid.dates == [date(2021, 3, 1), date(2021, 3, 8)]
    assert grid.values[0].tolist() == [3.0, 4.0]
    assert truncate(frame, date(2021, 3, 2), "W")["value"].to_list() == [1.0, 2.0]
    assert future_dates(date(2021, 1, 1), "M", 2) == [date(2021, 2, 1), date(2021, 3, 1)]


def test_store_shaped_frame_is_accepted_as_is():
    """mobtrack.analytics.series(...) returns typed columns plus extras (pcode, round...)."""
    frame = pl.DataFrame(
        {
            "series_id": ["op/SO11", "op/SO11"],
            "date": [date(2020, 1, 5), date(2020, 3, 5)],
            "value": [10, 20],
            "pcode": ["SO11", "SO11"],
            "round": [1, 2],
        }
    )
    out = normalise(frame)
    assert out.columns == ["series_id", "date", "value"] and out["value"].to_list() == [10.0, 20.0]
