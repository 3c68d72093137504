"""Places the gazetteer could not match."""

import polars as pl

from mobtrack.validate import RuleContext, check_rows
from tests.validate.helpers import frame, rows


def unmatched(records, *which):
    status = ["unmatched" if i in which else "matched" for i in range(records.height)]
    return records.with_columns(match_status=records["match_status"].scatter(list(range(records.height)), status),
                                location_pcode=records["location_pcode"].scatter(list(which), None)
                                if which else records["location_pcode"])


def test_matched_places_pass():
    assert rows(frame({}, {"adm1_pcode": "SO12"}, matched=True)) == []


def test_rows_without_match_columns_are_skipped():
    assert rows(frame({}), rule="unknown-place") == []


def test_one_issue_per_place_at_its_first_row():
    records = unmatched(frame({"adm1_name": "Bayy", "adm1_pcode": None}, {"adm1_pcode": "SO12"},
                              {"adm1_name": "Bayy", "adm1_pcode": None, "unit": "households"},
                              {"adm1_name": "Gedoo", "adm1_pcode": "SO99"}, matched=True), 0, 2, 3)
    issues = check_rows(records, RuleContext("f.csv"))
    assert [(i.row, i.column, i.rule) for i in issues] == [(2, "place", "unknown-place"), (5, "place", "unknown-place")]
    assert "Bayy" in issues[0].message and "2 rows" in issues[0].message
    assert "name Gedoo, code SO99" in issues[1].message


def test_place_reported_once_per_file_across_batches():
    ctx = RuleContext("f.csv")
    batch = unmatched(frame({"adm1_name": "Bayy", "adm1_pcode": None}, matched=True), 0)
    assert rows(batch, ctx) == [(2, "place", "unknown-place")]
    assert rows(batch, ctx) == []


def test_review_is_left_to_the_gazetteer():
    records = frame({}, matched=True).with_columns(match_status=pl.lit("review"))
    assert rows(records) == []
