"""Duplicate records: identical repeats are warnings, conflicting repeats are errors."""

from mobtrack.validate import RuleContext, check_round
from tests.validate.helpers import frame, round_


def test_distinct_cells_are_not_duplicates():
    records = frame({}, {"unit": "households"}, {"population_group": "returnees_internal"},
                    {"adm1_pcode": "SO12", "adm1_name": "Bakool"}, {"role": "breakdown", "sex": "f", "value": 40},
                    {"role": "breakdown", "sex": "m", "value": 60}, {"round_number": 4})
    assert round_(records) == []


def test_exact_and_conflicting():
    records = frame({"value": 10}, {"value": 10}, {"value": 12}, {"value": 10, "sex": "f", "role": "breakdown"})
    assert round_(records) == [(4, "#affected+idp", "conflicting-duplicate"), (3, "#affected+idp", "exact-duplicate")]


def test_messages_point_to_the_first_row():
    records = frame({"value": 10, "source_sheet": "A"}, {"value": 12, "source_sheet": "B", "source_row": 40})
    [issue] = check_round(records, RuleContext("f.xlsx"))
    assert issue.rule == "conflicting-duplicate" and issue.severity == "error"
    assert issue.sheet == "B" and issue.row == 40 and issue.value == "12"
    assert "10 at row 2 of sheet A" in issue.message


def test_placeholder_repeats_compare_by_text():
    records = frame({"value": None, "raw_value": "n/a"}, {"value": None, "raw_value": "n/a"},
                    {"value": None, "raw_value": "-"})
    assert round_(records) == [(4, "#affected+idp", "conflicting-duplicate"), (3, "#affected+idp", "exact-duplicate")]


def test_two_spellings_of_one_matched_place_are_one_place():
    records = frame({"adm1_name": "Bay"}, {"adm1_name": "Bay region"}, matched=True)
    assert round_(records) == [(3, "#affected+idp", "exact-duplicate")]


def test_unmatched_places_compare_as_written():
    records = frame({"adm1_name": "Bay"}, {"adm1_name": "Bay region"})
    assert round_(records) == []


def test_disaggregation_is_part_of_the_cell():
    records = frame({"role": "part", "reason": "conflict", "origin_pcode": "SO11"},
                    {"role": "part", "reason": "conflict", "origin_pcode": "SO12"},
                    {"role": "part", "reason": "conflict", "origin_pcode": "SO11", "value": 5})
    assert round_(records, rule="conflicting-duplicate") == [(4, "#affected+idp", "conflicting-duplicate")]


def test_parts_nothing_tells_apart_are_not_duplicates():
    # a site list without site names: each row is a part of its place's figure
    records = frame({"role": "part", "value": 22}, {"role": "part", "value": 22}, {"role": "part", "value": 5})
    assert round_(records) == []


def test_a_repeated_row_is_not_reported_again_as_a_wrong_sum():
    records = frame({"value": 100}, {"role": "part", "reason": "conflict", "value": 60},
                    {"role": "part", "reason": "flood", "value": 40},
                    {"role": "part", "reason": "flood", "value": 40})
    assert round_(records) == [(5, "#affected+idp", "exact-duplicate")]


def test_repeats_mask_keeps_first_occurrences_and_nameless_parts():
    from mobtrack.validate import repeats

    records = frame({"value": 10}, {"value": 10}, {"value": 12},
                    {"role": "part", "adm1_pcode": "SO12", "value": 4}, {"role": "part", "adm1_pcode": "SO12", "value": 4})
    assert repeats(records).to_list() == [False, True, True, False, False]
    assert repeats(records.clear()).to_list() == []


def test_round_rules_reuse_what_repeats_found_for_the_same_frame_only():
    from mobtrack.validate import repeats

    def issues(ctx, records):
        return [(i.row, i.rule) for i in check_round(records, ctx)]

    records = frame({"value": 10}, {"value": 10}, {"value": 12})
    alone = issues(RuleContext("f.csv"), records)
    ctx = RuleContext("f.csv")
    repeats(records, ctx)  # what the pipeline does before the round rules
    assert ctx.cache and issues(ctx, records) == alone
    # what was computed for another frame is not taken for this one
    other = frame({"value": 10}, {"value": 11})
    ctx = RuleContext("f.csv")
    repeats(other, ctx)
    assert issues(ctx, records) == alone
    assert not ctx.cache  # emptied after the rules, as before
