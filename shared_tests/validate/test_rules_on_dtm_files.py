"""The rules on real DTM files: what they report must be what is really in the files.

The expected findings are computed independently from the raw files, never from mobtrack's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from mobtrack.ingest import ImportOptions, SourceFile, get_adapter
from mobtrack.validate import RuleContext, check_round, check_rows

pytestmark = pytest.mark.shared


def validate(path: Path) -> list:
    """Adapter -> rules, as the pipeline runs them, without place matching or a database."""
    source = SourceFile.from_path(path)
    ctx = RuleContext(path.name, settings={"today": "2026-01-01"})
    batches, issues = [], []
    for batch in get_adapter(source).read(source, ImportOptions()):
        issues += check_rows(batch.records, ctx)
        batches.append(batch.records)
    records = pl.concat(batches, how="vertical_relaxed")
    for _, one_round in records.group_by(["operation", "assessment_type", "round_number"], maintain_order=True):
        issues += check_round(one_round, ctx)
    return issues


def test_global_csv_sex_breakdowns_that_do_not_add_up(shared_data):
    path = shared_data / "dtm" / "api" / "global-iom-dtm-from-api-admin-0-to-2.csv"
    raw = pl.read_csv(path, infer_schema_length=0).with_row_index("line", offset=2)
    n = {c: pl.col(c).cast(pl.Int64, strict=False) for c in ("numberMales", "numberFemales", "numPresentIdpInd")}
    expected = raw.filter(
        pl.all_horizontal(e.is_not_null() for e in n.values())
        & (n["numberMales"] + n["numberFemales"] != n["numPresentIdpInd"]))["line"].to_list()
    assert expected, "the file is known to hold such rows"
    issues = validate(path)
    found = sorted(i.row for i in issues if i.rule == "breakdown-sum-mismatch")
    assert found == sorted(expected)
    assert not [i for i in issues if i.rule in ("parts-sum-mismatch", "conflicting-duplicate")]


@pytest.mark.parametrize("name", [f"displacement-admin{level}-admin0pcode-{iso}.json"
                                  for level, iso in [(0, "afg"), (1, "afg"), (0, "hti"), (1, "hti"), (2, "hti"),
                                                     (0, "tcd"), (1, "tcd"), (2, "tcd")]])
def test_v3_api_files(shared_data, name):
    # The v3 split by reason x origin must not look like duplicates or wrong sums; the only errors
    # are the records whose males + females differ from their IDPs (row = position in `result`).
    path = shared_data / "dtm" / "api" / name
    result = json.loads(path.read_text(encoding="utf-8"))["result"]
    expected = [k + 1 for k, r in enumerate(result)
                if all(isinstance(r.get(f), int) for f in ("numberMales", "numberFemales", "numPresentIdpInd"))
                and r["numberMales"] + r["numberFemales"] != r["numPresentIdpInd"]]
    errors = [(i.row, i.rule) for i in validate(path) if i.severity == "error"]
    assert sorted(errors) == [(row, "breakdown-sum-mismatch") for row in expected]


@pytest.mark.parametrize("name", ["iom_dtm_dtm_ethiopia_site_assessment_round_28.xlsx",
                                  "iom_dtm_eth_dtm_ethiopia_site_assessment_round_29.xlsx"])
def test_site_lists_without_site_names_are_not_duplicates(shared_data, name):
    issues = validate(shared_data / "dtm" / "country-files" / name)
    assert not [i for i in issues if i.rule.endswith("duplicate")]
