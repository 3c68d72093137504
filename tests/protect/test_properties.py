"""Properties of DP post-processing and microdata helpers on random inputs."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobtrack.protect import microdata
from mobtrack.protect.cube import TableSpec
from mobtrack.protect.dp import dp_release

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def places_and_counts(draw):
    n1 = draw(st.integers(1, 3))
    places = [(f"A{i}", f"A{i}.{j}") for i in range(n1) for j in range(draw(st.integers(1, 3)))]
    present = draw(st.lists(st.sampled_from(places), unique=True, max_size=len(places)))
    counts = [(a, b, s, draw(st.integers(0, 40))) for a, b in present for s in ("f", "m")]
    return (pl.DataFrame(places, schema=["adm1", "adm2"], orient="row"),
            pl.DataFrame(counts, schema=["adm1", "adm2", "sex", "value"], orient="row"))


@FAST
@given(places_and_counts(), st.sampled_from([0.1, 1.0, 5.0]))
def test_dp_figures_are_nonnegative_and_add_up_everywhere(data, epsilon):
    places, counts = data
    spec = TableSpec(hierarchy=["adm1", "adm2"], disaggregations=["sex"], categories={"sex": ["f", "m"]})
    t = dp_release(counts, spec, places, epsilon).table
    assert t["value"].min() >= 0
    # every declared place appears, whether or not it had data
    assert t.filter(pl.col("level") == 2, pl.col("sex").is_null()).height == places.height
    leaves = t.filter(pl.col("level") == 2, pl.col("sex").is_not_null())
    for level, keys in ((1, ["adm1"]), (0, [])):
        for by_sex in (True, False):
            group = keys + (["sex"] if by_sex else [])
            expected = leaves.group_by(group).agg(pl.col("value").sum()) if group else leaves.select(pl.col("value").sum())
            got = t.filter(pl.col("level") == level, pl.col("sex").is_not_null() if by_sex else pl.col("sex").is_null())
            joined = got.join(expected, on=group, suffix="_sum") if group else got.with_columns(
                value_sum=expected["value"][0])
            assert joined.height == got.height and (joined["value"] == joined["value_sum"]).all()


@FAST
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("fm"), st.integers(0, 9)), min_size=1,
                max_size=60), st.integers(2, 5))
def test_local_suppression_always_reaches_k(rows, k):
    df = pl.DataFrame(rows, schema=["district", "sex", "age"], orient="row")
    out, done = microdata.local_suppression(df, ["district", "sex", "age"], k=k)
    assert out.height + done["records_removed"] == df.height
    if out.height:
        assert microdata.k_anonymity(out, ["district", "sex", "age"]) >= k
