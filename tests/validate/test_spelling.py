"""Category spellings that differ only in case, accents or spacing, within one file."""

from mobtrack.validate import RuleContext, check_round
from tests.validate.helpers import frame, round_


def test_one_spelling_is_fine():
    assert round_(frame({"reason": "Conflict"}, {"reason": "Conflict", "population_group": "returnees_internal"})) == []


def test_case_variants_are_each_reported_once_at_their_first_row():
    records = frame({"reason": "Conflict"}, {"reason": "conflict", "unit": "households"},
                    {"reason": "conflict", "population_group": "host_community"}, {"reason": "Disaster"})
    assert round_(records) == [(2, "reason", "category-spelling-variants"), (3, "reason", "category-spelling-variants")]


def test_message_names_the_variants():
    records = frame({"site_type": "Site"}, {"site_type": "Sité", "unit": "households"},
                    {"site_type": " site ", "population_group": "host_community"})
    issues = check_round(records, RuleContext("f.csv"))
    assert [(i.row, i.value) for i in issues] == [(2, "Site"), (3, "Sité"), (4, " site ")]
    assert "'Sité' (1 rows)" in issues[0].message and "' site '" in issues[0].message


def test_different_words_are_not_variants():
    assert round_(frame({"sex": "f"}, {"sex": "m", "unit": "households"})) == []


def test_variants_across_rounds_of_one_file():
    ctx = RuleContext("f.csv")
    assert round_(frame({"shelter_type": "Camp"}), ctx) == []
    assert round_(frame({"shelter_type": "camp", "round_number": 4, "source_row": 50}), ctx) == [
        (2, "shelter_type", "category-spelling-variants"), (50, "shelter_type", "category-spelling-variants")]
    # already reported: a third round with the same spellings adds nothing
    assert round_(frame({"shelter_type": "camp", "round_number": 5}), ctx) == []


def test_columns_are_configurable():
    records = frame({"age_band": "18-59 "}, {"age_band": "18-59", "unit": "households"})
    assert round_(records, RuleContext("f", settings={"spelling_columns": ["reason"]})) == []
