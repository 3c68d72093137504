"""Round-over-round outliers and one round stored under two assessment types."""

import polars as pl
import pytest

from mobtrack.validate import RuleContext, check_round
from mobtrack.validate.rules.round_repeated_across_types import round_totals
from tests.validate.helpers import frame, round_


def previous(**figures):
    return pl.DataFrame([{"location_pcode": p, "population_group": "idps", "unit": "individuals", "value": v}
                         for p, v in figures.items()])


def current():
    return frame({"adm1_pcode": "SO11", "value": 5000},
                 {"adm1_pcode": "SO12", "adm1_name": "Bakool", "value": 900},
                 {"adm1_pcode": "SO13", "adm1_name": "Gedo", "role": "part", "reason": "conflict", "value": 3000},
                 {"adm1_pcode": "SO13", "adm1_name": "Gedo", "role": "part", "reason": "drought", "value": 4000},
                 matched=True)


def test_outliers_both_ways_and_ignoring_small_places():
    ctx = RuleContext("f.csv", previous_figures=previous(SO11=1000, SO12=100, SO13=40_000))
    # SO11 x5 (+4,000): flagged; SO12 x9 but only +800: not; SO13 (sum of parts 7,000) /5.7: flagged
    assert round_(current(), ctx) == [(2, "#affected+idp", "round-over-round-outlier"),
                                      (4, "#affected+idp", "round-over-round-outlier")]


def test_message_gives_both_figures():
    ctx = RuleContext("f.csv", previous_figures=previous(SO11=1000))
    [issue] = check_round(current(), ctx)
    assert "5,000 this round against 1,000" in issue.message and "x5.0" in issue.message
    assert issue.severity == "warning"


@pytest.mark.parametrize("settings, flagged", [
    ({"outlier_factor": 6.0}, 0), ({"outlier_min_change": 100}, 3), ({}, 2)])
def test_thresholds(settings, flagged):
    ctx = RuleContext("f.csv", settings=settings, previous_figures=previous(SO11=1000, SO12=100, SO13=40_000))
    assert len(round_(current(), ctx)) == flagged


def test_first_round_has_nothing_to_compare():
    assert round_(current(), RuleContext("f.csv", previous_figures=None)) == []


def test_store_figures_keyed_by_location_id():
    records = current().with_columns(location_id=pl.col("adm1_pcode").str.slice(2).cast(pl.Int64))
    prev = pl.DataFrame({"location_id": [11], "admin_level": [1], "population_group": ["idps"],
                         "unit": ["individuals"], "value": [100_000]})
    assert round_(records, RuleContext("f", previous_figures=prev)) == [(2, "#affected+idp", "round-over-round-outlier")]


# --- the same round under two assessment types ----------------------------------------------

def stored(rows):
    return lambda operation: pl.DataFrame(rows, orient="row", schema={"assessment_type": pl.String, "round_number": pl.Int64,
                                                        "population_group": pl.String, "unit": pl.String,
                                                        "value": pl.Int64})


def test_round_totals_sum_the_deepest_level_only():
    records = frame({"admin_level": 1, "value": 12_000},
                    {"admin_level": 2, "adm2_pcode": "SO1101", "value": 5000},
                    {"admin_level": 2, "adm2_pcode": "SO1102", "role": "part", "reason": "x", "value": 4000},
                    {"admin_level": 2, "adm2_pcode": "SO1102", "role": "part", "reason": "y", "value": 3000},
                    {"admin_level": 2, "adm2_pcode": "SO1102", "role": "breakdown", "sex": "f", "value": 3500},
                    {"admin_level": 1, "unit": "households", "value": 2000})
    assert sorted(round_totals(records).iter_rows()) == [("idps", "households", 2000), ("idps", "individuals", 12_000)]


def test_identical_totals_under_another_type():
    records = current()  # idps individuals: 5,000 + 900 + 7,000
    ctx = RuleContext("f.csv", stored_round_totals=stored([("SA", 3, "idps", "individuals", 12_900),
                                                           ("BA", 3, "idps", "individuals", 12_900),
                                                           ("SA", 2, "idps", "individuals", 12_800)]))
    [issue] = check_round(records, ctx)
    assert (issue.rule, issue.row, issue.column, issue.value) == ("round-repeated-across-types", 2,
                                                                   "assessment_type", "BA")
    assert "stored round 3 (SA)" in issue.message


def test_totals_must_match_for_every_group_and_unit():
    records = frame({"value": 100}, {"unit": "households", "value": 20}, matched=True)
    partial = stored([("SA", 3, "idps", "individuals", 100), ("SA", 3, "idps", "households", 21)])
    assert round_(records, RuleContext("f", stored_round_totals=partial)) == []
    full = stored([("SA", 3, "idps", "individuals", 100), ("SA", 3, "idps", "households", 20)])
    assert round_(records, RuleContext("f", stored_round_totals=full)) == [
        (2, "assessment_type", "round-repeated-across-types")]


def test_round_totals_work_on_stored_observations_without_round_columns():
    records = current().drop("operation", "country_iso3", "assessment_type", "round_number", "reporting_date",
                             "period_start", "period_end")
    assert round_totals(records).rows() == [("idps", "individuals", 12_900)]
