"""Parts against their total, breakdowns against the total or part they break down."""

from hypothesis import given, settings
from hypothesis import strategies as st

from mobtrack.validate import RuleContext
from tests.validate.helpers import frame, round_

TOTAL = {"role": "total"}


def part(reason, value, **kw):
    return {"role": "part", "reason": reason, "value": value, "source_column": "parts"} | kw


def bd(value, **kw):
    return {"role": "breakdown", "value": value, "source_column": "sex"} | kw


def test_parts_adding_up():
    assert round_(frame(TOTAL | {"value": 100}, part("conflict", 60), part("disaster", 40))) == []


def test_parts_not_adding_up_flag_the_total_row():
    records = frame(TOTAL | {"value": 100}, part("conflict", 60), part("disaster", 30))
    assert round_(records) == [(2, "#affected+idp", "parts-sum-mismatch")]


def test_parts_without_total_are_not_checked():
    assert round_(frame(part("conflict", 60), part("disaster", 30))) == []


def test_sum_tolerance():
    records = frame(TOTAL | {"value": 1000}, part("conflict", 600), part("disaster", 395))
    assert round_(records, RuleContext("f", settings={"sum_tolerance": 5})) == []
    assert round_(records, RuleContext("f", settings={"sum_tolerance_ratio": 0.005})) == []
    assert round_(records, RuleContext("f", settings={"sum_tolerance_ratio": 0.001})) != []


def test_missing_part_is_not_a_wrong_sum():
    records = frame(TOTAL | {"value": 100}, part("conflict", 60), part("disaster", None, raw_value="n/a"))
    assert round_(records, rule="parts-sum-mismatch") == []


def test_breakdown_of_the_total():
    ok = frame(TOTAL | {"value": 100}, bd(40, sex="f"), bd(60, sex="m"))
    bad = frame(TOTAL | {"value": 100}, bd(40, sex="f"), bd(50, sex="m"))
    assert round_(ok) == []
    assert round_(bad) == [(2, "#affected+idp", "breakdown-sum-mismatch")]


def test_each_breakdown_shape_on_its_own():
    # by sex and by age band: each adds up to 100; together they would be 200
    records = frame(TOTAL | {"value": 100}, bd(40, sex="f"), bd(60, sex="m"),
                    bd(30, age_band="0-17"), bd(70, age_band="18+"),
                    bd(20, sex="f", age_band="0-17"), bd(20, sex="f", age_band="18+"),
                    bd(10, sex="m", age_band="0-17"), bd(50, sex="m", age_band="18+"))
    assert round_(records) == []
    records = records.with_columns(value=records["value"].scatter(8, 51))  # sex x age now 101
    assert round_(records) == [(2, "#affected+idp", "breakdown-sum-mismatch")]


def test_breakdown_of_a_part_matches_on_the_part_keys():
    records = frame(TOTAL | {"value": 100}, part("conflict", 60), part("disaster", 40),
                    bd(30, reason="conflict", sex="f"), bd(30, reason="conflict", sex="m"),
                    bd(20, reason="disaster", sex="f"), bd(25, reason="disaster", sex="m"))
    assert round_(records) == [(4, "parts", "breakdown-sum-mismatch")]


def test_breakdown_without_total_uses_the_sum_of_parts():
    records = frame(part("conflict", 60), part("disaster", 40), bd(50, sex="f"), bd(49, sex="m"))
    assert round_(records) == [(4, "sex", "breakdown-sum-mismatch")]  # first breakdown row


def test_breakdowns_of_other_places_do_not_mix():
    records = frame(TOTAL | {"value": 100}, bd(40, sex="f"), bd(60, sex="m"),
                    TOTAL | {"value": 10, "adm1_pcode": "SO12"}, bd(4, sex="f", adm1_pcode="SO12"),
                    bd(6, sex="m", adm1_pcode="SO12"))
    assert round_(records) == []


# --- properties ------------------------------------------------------------------------------

SEXES = ["f", "m"]
AGES = ["0-4", "5-17", "18-59", "60+"]


@st.composite
def partition(draw):
    """A total split into parts by reason, each part broken down by sex x age band, all exact."""
    reasons = draw(st.lists(st.sampled_from(["conflict", "disaster", "other", "unknown"]), min_size=1,
                            max_size=4, unique=True))
    rows, total = [], 0
    for reason in reasons:
        cells = draw(st.lists(st.integers(0, 10_000), min_size=len(SEXES) * len(AGES),
                              max_size=len(SEXES) * len(AGES)))
        rows.append(part(reason, sum(cells)))
        total += sum(cells)
        for (sex, age), v in zip([(s, a) for s in SEXES for a in AGES], cells, strict=True):
            rows.append(bd(v, reason=reason, sex=sex, age_band=age))
    return [TOTAL | {"value": total}] + rows


@settings(max_examples=25, deadline=None)
@given(partition())
def test_exact_partition_never_flags(rows):
    assert round_(frame(*rows)) == []


@settings(max_examples=25, deadline=None)
@given(partition(), st.data())
def test_perturbing_one_breakdown_always_flags(rows, data):
    i = data.draw(st.sampled_from([k for k, r in enumerate(rows) if r["role"] == "breakdown"]))
    delta = data.draw(st.integers(1, 500) | st.integers(-500, -1))
    perturbed = [dict(r) for r in rows]
    perturbed[i]["value"] += delta
    found = round_(frame(*perturbed))
    # reported once, on the part the breakdown belongs to (source rows start at 2)
    parent = max(k for k in range(i) if perturbed[k]["role"] == "part")
    assert found == [(parent + 2, "parts", "breakdown-sum-mismatch")]


@settings(max_examples=25, deadline=None)
@given(partition(), st.data())
def test_perturbing_one_part_flags_it_against_total_and_its_breakdowns(rows, data):
    i = data.draw(st.sampled_from([k for k, r in enumerate(rows) if r["role"] == "part"]))
    perturbed = [dict(r) for r in rows]
    perturbed[i]["value"] += data.draw(st.integers(1, 500))
    assert sorted(round_(frame(*perturbed))) == [(2, "#affected+idp", "parts-sum-mismatch"),
                                                 (i + 2, "parts", "breakdown-sum-mismatch")]


def test_nameless_parts_add_up_to_their_total():
    records = frame(TOTAL | {"value": 49}, part(None, 22), part(None, 22), part(None, 5))
    assert round_(records) == []
    assert round_(records.with_columns(value=records["value"].scatter(3, 6))) == [
        (2, "#affected+idp", "parts-sum-mismatch")]


def test_breakdown_in_columns_of_one_row_names_the_row_once():
    from mobtrack.validate import check_round

    records = frame(TOTAL | {"value": 150, "source_row": 7},
                    bd(8, sex="m", source_row=7, source_column="numberMales"),
                    bd(7, sex="f", source_row=7, source_column="numberFemales"))
    [issue] = check_round(records, RuleContext("global.csv"))
    assert issue.message == ("breakdown by sex sums to 15 (row 7) but the total is 150 (difference -135)")
