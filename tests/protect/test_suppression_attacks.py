"""Hypothesis plays the attacker: random admin hierarchies, disaggregations and rounds are
protected, then every recovery the attacker knows is tried on the published figures."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobtrack.protect.cube import TableSpec
from mobtrack.protect.suppression import suppress
from tests.protect import attacker

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tables(draw, max_rounds=3, kind="stock"):
    depth = draw(st.integers(1, 3))
    hierarchy = [f"adm{i + 1}" for i in range(depth)]
    ndis = draw(st.integers(0, 2))
    cats = {f"d{j}": [f"c{k}" for k in range(draw(st.integers(2, 3)))] for j in range(ndis)}
    # a random tree: each unit gets 1..3 children
    paths = [()]
    for _ in range(depth):
        paths = [(*p, f"{'.'.join(p) or 'r'}.{k}") for p in paths for k in range(draw(st.integers(1, 3)))]
    nrounds = draw(st.integers(1, max_rounds))
    small = st.integers(0, 12)
    any_count = st.one_of(small, st.integers(0, 300))
    rows = []
    for r in range(nrounds):
        for p in paths:
            combos = [()]
            for d, cs in cats.items():
                combos = [(*c, x) for c in combos for x in cs]
            for combo in combos:
                rows.append((*p, *combo, r + 1, draw(any_count)))
    frame = pl.DataFrame(rows, schema=[*hierarchy, *cats, "round", "value"], orient="row")
    spec = TableSpec(hierarchy=hierarchy, disaggregations=list(cats), round="round", round_kind=kind,
                     round_total=(kind == "flow"), categories=cats)
    return frame, spec


def published(frame, spec):
    result = suppress(frame, spec)
    out = result.table(margins=True)
    rels = attacker.relations(out, spec.hierarchy, spec.disaggregations, spec.round, spec.round_total)
    return result, out, rels


def test_small_cells_are_suppressed_and_zeros_are_not():
    frame = pl.DataFrame({"adm1": ["A", "A", "B", "B"], "adm2": ["A1", "A2", "B1", "B2"], "value": [3, 0, 40, 50]})
    out = suppress(frame, TableSpec(hierarchy=["adm1", "adm2"])).table(margins=True)
    by_unit = {(r["adm1"], r["adm2"]): r for r in out.iter_rows(named=True)}
    assert by_unit[("A", "A1")]["value"] is None and by_unit[("A", "A1")]["suppression"] == "primary"
    assert by_unit[("A", "A2")]["value"] == 0  # zero is not sensitive
    assert by_unit[("A", None)]["value"] is None  # A's total (3) is small itself
    assert by_unit[("B", "B2")]["value"] == 50  # not everything goes
    # the grand total minus B would give A: so B (or the grand total) must go too
    assert by_unit[("B", None)]["value"] is None or by_unit[(None, None)]["value"] is None


@SETTINGS
@given(tables())
def test_no_small_count_is_published(data):
    frame, spec = data
    result, out, _ = published(frame, spec)
    shown = out.filter(pl.col("value").is_not_null())["value"]
    assert not shown.is_between(1, spec.threshold).any()
    # nothing is invented: shown figures are the true sums
    truth = suppress(frame, TableSpec(**{**spec.__dict__, "threshold": 1})).cube.values
    assert (result.cube.values == truth).all()


@SETTINGS
@given(tables())
def test_attacks_by_totals_recover_nothing(data):
    frame, spec = data
    _, out, rels = published(frame, spec)
    values = out["value"].to_list()
    # (a) same table: the admin3 table's own sex/reason totals; (b) cross-level; (c) cross-disaggregation
    for kind in ("cross_level", "cross_disaggregation"):
        assert attacker.peel(values, rels.get(kind, [])) == {}, kind
    everything = [r for rs in rels.values() for r in rs]
    assert attacker.peel(values, everything) == {}


@SETTINGS
@given(tables())
def test_no_linear_combination_of_published_figures_fixes_a_cell(data):
    frame, spec = data
    _, out, rels = published(frame, spec)
    everything = [r for rs in rels.values() for r in rs]
    assert attacker.linear_recoverable(out["value"].to_list(), everything) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(max_rounds=1))
def test_linear_programming_bounds_are_never_tight(data):
    frame, spec = data
    result, out, rels = published(frame, spec)
    everything = [r for rs in rels.values() for r in rs]
    truth = result.table(margins=True).with_columns(pl.Series("truth", result.cube.values))["truth"]
    for cell, (lo, hi) in attacker.lp_bounds(out["value"].to_list(), everything).items():
        assert lo < truth[cell] - 1e-6 and hi > truth[cell] + 1e-6, (cell, lo, hi, truth[cell])


@SETTINGS
@given(tables(max_rounds=4))
def test_round_differencing_shows_no_small_change(data):
    frame, spec = data
    _, out, _ = published(frame, spec)
    leaks = attacker.small_round_changes(out, spec.keys, "round", "value", spec.threshold)
    assert leaks.height == 0, leaks


@SETTINGS
@given(tables(max_rounds=4, kind="flow"))
def test_flow_totals_over_rounds_recover_nothing(data):
    frame, spec = data
    _, out, rels = published(frame, spec)
    everything = [r for rs in rels.values() for r in rs]
    assert "round_total" in rels
    assert attacker.linear_recoverable(out["value"].to_list(), everything) == []


@SETTINGS
@given(tables(max_rounds=4))
def test_adding_a_round_never_changes_an_earlier_round(data):
    frame, spec = data
    last = frame["round"].max()
    if last == 1:
        return
    before = suppress(frame.filter(pl.col("round") < last), spec).table(margins=True)
    after = suppress(frame, spec).table(margins=True).filter(pl.col("round") < last)
    keys = [*spec.keys, "round", "level"]
    assert before.sort(keys, nulls_last=True).equals(after.sort(keys, nulls_last=True))


def test_leaf_rows_only_and_clear_errors():
    from mobtrack.protect.cube import SpecError

    spec = TableSpec(hierarchy=["adm1", "adm2"])
    with pytest.raises(SpecError, match="leaf rows only"):
        suppress(pl.DataFrame({"adm1": ["A"], "adm2": [None], "value": [5]}), spec)
    with pytest.raises(SpecError, match="negative or fractional"):
        suppress(pl.DataFrame({"adm1": ["A"], "adm2": ["A1"], "value": [-1]}), spec)
    with pytest.raises(SpecError, match="more than one parent"):
        suppress(pl.DataFrame({"adm1": ["A", "B"], "adm2": ["X", "X"], "value": [5, 6]}), spec)
    with pytest.raises(SpecError, match="declared categories"):
        suppress(pl.DataFrame({"adm1": ["A"], "adm2": ["A1"], "sex": ["x"], "value": [5]}),
                 TableSpec(hierarchy=["adm1", "adm2"], disaggregations=["sex"], categories={"sex": ["f", "m"]}))


def test_output_keeps_the_input_rows_and_round_values():
    frame = pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A2"], "round": [7, 7], "value": [30, 40]})
    out = suppress(frame, TableSpec(hierarchy=["adm1", "adm2"], round="round")).table()
    assert out.columns == ["adm1", "adm2", "round", "value", "suppressed", "suppression"]
    assert sorted(out["value"].to_list()) == [30, 40] and out["round"].to_list() == [7, 7]


def test_the_attacker_is_not_blind():
    """Without secondary suppression the same attacks do recover the small cells."""
    frame = pl.DataFrame({"adm1": ["A"] * 3 + ["B"] * 2, "adm2": ["A1", "A2", "A3", "B1", "B2"],
                          "sex": ["f"] * 5, "value": [3, 40, 50, 20, 30]})
    frame = pl.concat([frame, frame.with_columns(pl.lit("m").alias("sex"), pl.Series("value", [12, 30, 4, 25, 25]))])
    spec = TableSpec(hierarchy=["adm1", "adm2"], disaggregations=["sex"])
    result = suppress(frame, spec)
    out = result.table(margins=True)
    truth = pl.Series(result.cube.values)
    primary_only = out.with_columns(
        pl.when(pl.col("suppression") == "primary").then(None).otherwise(truth).alias("value"))
    rels = attacker.relations(primary_only, spec.hierarchy, spec.disaggregations)
    everything = [r for rs in rels.values() for r in rs]
    values = primary_only["value"].to_list()
    recovered = attacker.peel(values, everything)
    assert recovered and all(truth[i] == v for i, v in recovered.items())
    assert set(attacker.linear_recoverable(values, everything)) == set(recovered)


def test_sparse_and_dense_checks_agree():
    """The randomized sparse check used for large groups finds exactly the dense check's cells."""
    import numpy as np
    from scipy.sparse import csr_matrix

    from mobtrack.protect.suppression import _fixed_columns, _fixed_columns_sparse

    rng = np.random.default_rng(5)
    for _ in range(20):
        rows, cols = rng.integers(3, 30), rng.integers(3, 40)
        a = rng.choice([0.0, 0.0, 0.0, 1.0, -1.0], size=(rows, cols))
        a[0, :] = 0
        a[0, 0] = 1  # cell 0 is published outright by one relation: always determined
        dense = _fixed_columns(a)
        assert dense[0]
        assert (dense == _fixed_columns_sparse(csr_matrix(a))).all()
