"""Count cells: placeholders, text, negative, fractional and empty counts."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobtrack.validate import RuleContext, check_rows
from tests.validate.helpers import frame, rows


def test_clean_counts_raise_nothing():
    assert rows(frame({"value": 0}, {"value": 12}, {"value": 1_000_000})) == []


@pytest.mark.parametrize("raw, rule", [
    ("Not available", "placeholder-count"),
    ("  n/a ", "placeholder-count"),
    ("-", "placeholder-count"),
    ("NOT AVAILABLE", "placeholder-count"),
    ("12O", "non-numeric-count"),
    ("1,234", "non-numeric-count"),
    ("=HYPERLINK(\"http://x\")", "non-numeric-count"),
    ("inf", "non-numeric-count"),
    ("-5", "negative-count"),
    ("-0.5", "negative-count"),
    ("12.5", "fractional-count"),
    ("0.1", "fractional-count"),
    ("", "empty-count"),
    (None, "empty-count"),
])
def test_unreadable_count_text(raw, rule):
    records = frame({"value": 5}, {"value": None, "raw_value": raw})
    assert rows(records) == [(3, "#affected+idp", rule)]


def test_parsed_negative_value():
    assert rows(frame({"value": -3, "source_column": "IDP Ind"})) == [(2, "IDP Ind", "negative-count")]


def test_issue_quotes_the_original_text():
    [issue] = check_rows(frame({"value": None, "raw_value": "Not available"}), RuleContext("f.csv"))
    assert (issue.value, issue.severity, issue.file) == ("Not available", "warning", "f.csv")
    assert "Not available" in issue.message


def test_placeholders_are_configurable():
    records = frame({"value": None, "raw_value": "ND"}, {"value": None, "raw_value": "pending"})
    ctx = RuleContext("f.csv", settings={"placeholders": ["pending"]})
    assert rows(records, ctx) == [(2, "#affected+idp", "non-numeric-count"), (3, "#affected+idp", "placeholder-count")]


def test_count_classes_are_exclusive():
    texts = ["Not available", "-", "x", "12O", "-5", "12.5", "", "7", "1e3", "  "]
    records = frame(*[{"value": None, "raw_value": t} for t in texts])
    found = rows(records)
    assert sorted(r for r, _, _ in found) == list(range(2, 2 + len(texts)))  # exactly one issue per row


COUNT_RULES = {"placeholder-count", "non-numeric-count", "negative-count", "fractional-count", "empty-count"}


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.text(max_size=12), st.floats(allow_nan=True).map(str), st.integers().map(str),
                 st.sampled_from(["Not available", " - ", "N/A", "1,234", "12.0", "-0", "1e3"])))
def test_any_unread_count_gets_exactly_one_count_issue(text):
    found = [rule for _, _, rule in rows(frame({"value": None, "raw_value": text})) if rule in COUNT_RULES]
    assert len(found) == 1, (text, found)
