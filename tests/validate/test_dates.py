"""Implausible dates and reporting dates outside the round's period."""

import datetime as dt

import pytest

from mobtrack.validate import RuleContext
from tests.validate.helpers import frame, rows

TODAY = {"today": "2025-01-01"}


def ctx(**settings):
    return RuleContext("f.csv", settings=TODAY | settings)


def test_plausible_dates_pass():
    assert rows(frame({}), ctx()) == []


@pytest.mark.parametrize("row, column", [
    ({"reporting_date": dt.date(2025, 1, 2), "period_end": dt.date(2025, 1, 2)}, "reporting_date"),
    ({"period_start": dt.date(1989, 12, 31)}, "period_start"),
    ({"period_end": dt.date(2024, 4, 1)}, "period_end"),  # before the start
])
def test_implausible(row, column):
    found = rows(frame(row), ctx(), rule="implausible-date")
    assert (2, column, "implausible-date") in found


def test_future_uses_configured_today():
    records = frame({"reporting_date": dt.date(2024, 5, 31)})
    assert rows(records, RuleContext("f", settings={"today": "2024-05-30"}), rule="implausible-date") == [
        (2, "reporting_date", "implausible-date"), (2, "period_end", "implausible-date")]


def test_earliest_date_is_configurable():
    records = frame({"period_start": dt.date(2001, 1, 1), "reporting_date": dt.date(2001, 1, 2)})
    assert rows(records, ctx(earliest_date="2005-01-01"), rule="implausible-date") == [
        (2, "reporting_date", "implausible-date"), (2, "period_start", "implausible-date")]


def test_bad_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="earliest_date"):
        rows(frame({}), ctx(earliest_date="last year"))


@pytest.mark.parametrize("date, flagged", [
    (dt.date(2024, 5, 1), False), (dt.date(2024, 5, 31), False), (dt.date(2024, 4, 30), True),
    (dt.date(2024, 6, 1), True), (dt.date(2023, 5, 15), True),
])
def test_outside_period(date, flagged):
    found = rows(frame({"reporting_date": date}), ctx(), rule="date-outside-period")
    assert found == ([(2, "reporting_date", "date-outside-period")] if flagged else [])


def test_grace_days():
    records = frame({"reporting_date": dt.date(2024, 6, 10)})
    assert rows(records, ctx(period_grace_days=15), rule="date-outside-period") == []
    assert rows(records, ctx(period_grace_days=5), rule="date-outside-period") != []


def test_open_period_is_not_checked():
    assert rows(frame({"period_start": None, "period_end": None}), ctx()) == []
