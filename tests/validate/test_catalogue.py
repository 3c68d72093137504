"""docs/validation.md documents every rule, exactly as the registry describes it."""

from pathlib import Path

from mobtrack.validate import all_rules
from mobtrack.validate.rules._catalogue import END, GAZETTEER_ISSUES, START, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "validation.md"


def test_every_registered_rule_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = [slug for slug in all_rules() if f"### {slug}\n" not in text]
    assert not missing, f"rules missing from docs/validation.md: {missing}"


def test_gazetteer_issues_are_documented():
    text = DOC.read_text(encoding="utf-8")
    assert [s for s in GAZETTEER_ISSUES if f"#### {s}\n" not in text] == []


def test_catalogue_is_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(START): text.index(END) + len(END)]
    assert section == render(), (
        "docs/validation.md is stale: run python -m mobtrack.validate.rules._catalogue --write docs/validation.md")
