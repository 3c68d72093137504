"""Missing required fields, values outside the vocabulary, admin level vs place columns."""

import pytest

from tests.validate.helpers import frame, rows


@pytest.mark.parametrize("field, column", [
    ("operation", "operation"), ("assessment_type", "assessment_type"), ("round_number", "round_number"),
    ("reporting_date", "reporting_date"), ("population_group", "population_group"), ("unit", "unit"),
    ("role", "role"),
])
def test_each_required_field(field, column):
    assert rows(frame({}, {field: None})) == [(3, column, "missing-required-field")]


def test_blank_text_counts_as_missing():
    assert rows(frame({"operation": "  "})) == [(2, "operation", "missing-required-field")]


@pytest.mark.parametrize("blank", ["", "\t", "\u00a0", "\u3000 "])
def test_any_whitespace_only_text_is_blank_among_ordinary_values(blank):
    # a blank among other values: the column's smallest or largest text is no longer ordinary
    records = frame({"unit": "individuals"}, {"unit": blank}, {"adm1_pcode": blank, "adm1_name": None})
    assert rows(records) == [(3, "unit", "missing-required-field"), (4, "place", "missing-required-field")]


def test_text_with_inner_or_non_ascii_characters_is_not_blank():
    assert rows(frame({"operation": "Opération Ouest"}, {"operation": "a \u00a0b"})) == []


def test_place_missing_at_every_level():
    records = frame({"adm1_pcode": None, "adm1_name": None, "admin_level": None})
    assert rows(records) == [(2, "place", "missing-required-field")]


def test_country_level_row_needs_no_admin_columns():
    assert rows(frame({"admin_level": 0, "adm1_pcode": None, "adm1_name": None})) == []


def test_two_missing_fields_two_issues():
    assert rows(frame({"operation": None, "unit": None})) == [
        (2, "operation", "missing-required-field"), (2, "unit", "missing-required-field")]


def test_values_outside_vocabulary():
    records = frame({"population_group": "evacuees"}, {"unit": "families"}, {"role": "sum"},
                    {"assessment_type": "XYZ"})
    assert sorted(rows(records)) == [(2, "population_group", "not-in-vocabulary"), (3, "unit", "not-in-vocabulary"),
                                     (4, "role", "not-in-vocabulary"), (5, "assessment_type", "not-in-vocabulary")]


@pytest.mark.parametrize("row", [
    {"admin_level": 2, "adm2_pcode": "SO1101", "adm2_name": "Baidoa"},
    {"admin_level": 2, "adm2_name": "Baidoa"},
    {"admin_level": 5, "adm2_pcode": "SO1101", "site_code": "CCCM-1", "site_name": None},
    {"admin_level": 1},
])
def test_consistent_levels(row):
    assert rows(frame(row)) == []


@pytest.mark.parametrize("row, problem", [
    ({"admin_level": 1, "adm2_pcode": "SO1101"}, "below that level"),
    ({"admin_level": 2}, "no code or name"),
    ({"admin_level": None}, "no admin level"),
    ({"admin_level": 7}, "not a level"),
    ({"admin_level": 3, "site_name": "Camp A", "adm3_name": "X"}, "deepest: site"),
])
def test_inconsistent_levels(row, problem):
    from mobtrack.validate import RuleContext, check_rows

    issues = check_rows(frame(row), RuleContext("f.csv"))
    assert [(i.row, i.column, i.rule) for i in issues] == [(2, "admin_level", "admin-level-inconsistent")]
    assert problem in issues[0].message
