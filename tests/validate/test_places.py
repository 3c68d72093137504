"""Places: the gazetteer reports unresolved places; the rules must not report them again."""

import polars as pl
import pytest

from mobtrack.validate import RuleContext, check_round, check_rows
from tests.validate.helpers import frame


@pytest.mark.parametrize("status", ["unmatched", "review"])
def test_unresolved_places_are_left_to_the_gazetteer(status):
    records = frame({}, {"unit": "households"}, matched=True).with_columns(
        match_status=pl.lit(status), location_pcode=pl.lit(None, pl.String))
    assert check_rows(records, RuleContext("f")) == [] == check_round(records, RuleContext("f"))


def test_unresolved_places_still_group_by_what_the_source_wrote():
    # two unmatched rows naming the same place as written are one cell (a duplicate) ...
    records = frame({"adm1_pcode": None, "adm1_name": "Bayy"}, {"adm1_pcode": None, "adm1_name": "Bayy"},
                    {"adm1_pcode": None, "adm1_name": "Baay"}, matched=True)
    records = records.with_columns(match_status=pl.lit("unmatched"))
    issues = check_round(records, RuleContext("f"))
    # ... while a third spelling is another place
    assert [(i.row, i.rule) for i in issues] == [(3, "exact-duplicate")]
