"""The rule contract: registry, issue cap, settings, disabling rules, one pass over a batch."""

import polars as pl
import pytest

from mobtrack.validate import RULES, RoundRule, RowRule, RuleContext, all_rules, check_round, check_rows
from tests.validate.helpers import frame


def test_every_rule_is_complete():
    for slug, r in all_rules().items():
        assert r.slug == slug and slug == slug.lower() and " " not in slug
        assert r.severity in ("error", "warning") and r.description and r.fix and r.message
        assert isinstance(r, RowRule | RoundRule)
        r.render(r.example)  # the catalogue's example message renders from the template


def test_rules_are_one_module_each():
    modules = [type(r).__module__ for r in all_rules().values()]
    assert len(modules) == len(set(modules))


def test_issue_cap_per_rule_and_file():
    records = frame(*[{"value": None, "raw_value": "abc"} for _ in range(30)])
    ctx = RuleContext("big.csv", settings={"max_issues_per_rule": 10})
    first = check_rows(records, ctx)
    assert [i.row for i in first[:10]] == list(range(2, 12))
    # the summary points at the first unlisted row, so the pipeline attaches it to that row's round
    assert len(first) == 11 and first[10].row == 12 and "this row and 19 more" in first[10].message
    again = check_rows(records, ctx)  # next batch of the same file: only the summary
    assert len(again) == 1 and "this row and 29 more" in again[0].message and "60 in this file" in again[0].message


def test_summaries_per_round_keep_every_round_blocked():
    records = frame(*[{"value": None, "raw_value": "abc", "round_number": 1 + (i >= 20)} for i in range(30)])
    issues = check_rows(records, RuleContext("f", settings={"max_issues_per_rule": 5}))
    summaries = [i for i in issues if "more fail" in i.message]
    assert [(i.row, i.severity) for i in summaries] == [(7, "error"), (22, "error")]
    assert "this row and 14 more" in summaries[0].message and "this row and 9 more" in summaries[1].message


def test_default_cap_bounds_a_broken_file():
    n = 50_000
    records = frame({}).sample(n, with_replacement=True).with_columns(
        value=pl.lit(None, pl.Int64), raw_value=pl.lit("Not available"), source_row=pl.int_range(2, n + 2))
    issues = check_rows(records, RuleContext("f"))
    assert len(issues) == 1001 and f"this row and {n - 1001:,} more" in issues[-1].message


def test_disabled_rules():
    records = frame({"value": None, "raw_value": "n/a"})
    assert check_rows(records, RuleContext("f", settings={"disabled_rules": ["placeholder-count"]})) == []
    with pytest.raises(ValueError, match="no-such-rule"):
        check_rows(records, RuleContext("f", settings={"disabled_rules": ["no-such-rule"]}))


def test_wrongly_typed_setting_fails_loudly():
    with pytest.raises(ValueError, match="sum_tolerance"):
        check_round(frame({}), RuleContext("f", settings={"sum_tolerance": "five"}))


def test_rules_skip_frames_without_their_columns():
    records = frame({}).drop("raw_value", "match_status", strict=False)
    assert check_rows(records, RuleContext("f")) == []


def test_empty_batch():
    assert check_rows(frame({}).clear(), RuleContext("f")) == [] == check_round(frame({}).clear(), RuleContext("f"))


def test_rules_do_not_modify_records():
    records = frame({"value": None, "raw_value": "n/a"}, {"value": -1}, {"reason": "A"}, {"reason": "a"})
    before = records.clone()
    check_rows(records, RuleContext("f"))
    check_round(records, RuleContext("f"))
    assert records.equals(before)


def test_registry_refuses_two_rules_with_one_slug():
    from mobtrack.validate import rule

    all_rules()
    with pytest.raises(ValueError, match="share the slug"):
        @rule
        class Clash(RowRule):
            slug = "negative-count"
    assert type(RULES["negative-count"]).__name__ == "NegativeCount"


def test_a_finished_round_is_not_kept_in_memory():
    ctx = RuleContext("f")
    check_round(frame({"role": "part", "reason": "a"}, {"role": "breakdown", "sex": "f"}, {}), ctx)
    assert ctx.cache == {}
