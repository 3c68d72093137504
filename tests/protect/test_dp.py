from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mobtrack.protect.cube import SpecError, TableSpec
from mobtrack.protect.dp import dp_release, expected_abs_error, noisy_counts, prob_within

PLACES = pl.DataFrame({"adm1": ["A", "A", "B"], "adm2": ["A1", "A2", "B1"]})
SPEC = TableSpec(hierarchy=["adm1", "adm2"], disaggregations=["sex"], categories={"sex": ["f", "m"]},
                 round="round")


def test_theoretical_figures_of_the_integer_laplace_at_epsilon_1():
    assert expected_abs_error(1.0) == pytest.approx(0.8509, abs=1e-4)
    assert prob_within(1.0, 3) == pytest.approx(0.9732, abs=1e-4)


def test_noise_is_integer_and_has_the_expected_spread():
    noisy, scale = noisy_counts([100] * 4000, epsilon=1.0)
    err = noisy - 100
    assert noisy.dtype == np.int64 and scale == 1.0
    assert abs(np.abs(err).mean() - expected_abs_error(1.0)) < 0.1
    assert abs(err.mean()) < 0.1


def test_contributions_scale_the_noise():
    assert noisy_counts([0], epsilon=0.5, contributions=3)[1] == 6.0
    with pytest.raises(ValueError):
        noisy_counts([0], epsilon=0)


def test_release_is_nonnegative_integers_that_add_up_across_levels():
    frame = pl.DataFrame({"adm1": ["A", "A", "B"], "adm2": ["A1", "A2", "B1"], "sex": ["f", "m", "f"],
                          "round": [3, 3, 3], "value": [0, 2, 40]})
    rel = dp_release(frame, SPEC, PLACES, epsilon=0.5)
    t = rel.table
    assert t["value"].min() >= 0 and t["value"].dtype == pl.Int64
    # every declared place x category is present, including those absent from the data
    leaves = t.filter(pl.col("level") == 2, pl.col("sex").is_not_null())
    assert leaves.height == 6
    # admin1 = sum of its admin2; totals = sum over sex
    a = t.filter(pl.col("level") == 1, pl.col("sex").is_null()).sort("adm1")
    sums = leaves.group_by("adm1").agg(pl.col("value").sum()).sort("adm1")
    assert a["value"].to_list() == sums["value"].to_list()
    meta = rel.metadata()
    assert meta["epsilon"] == 0.5 and meta["delta"] == 0.0 and meta["privacy_unit"] == "one person per round"


def test_categories_and_places_come_from_declarations_not_data():
    frame = pl.DataFrame({"adm1": ["A"], "adm2": ["A9"], "sex": ["f"], "round": [1], "value": [5]})
    with pytest.raises(SpecError, match="outside the declared"):
        dp_release(frame, SPEC, PLACES, epsilon=1)
    with pytest.raises(SpecError, match="declared categories"):
        dp_release(frame, TableSpec(hierarchy=["adm1", "adm2"], disaggregations=["sex"]), PLACES, epsilon=1)
    two_rounds = pl.DataFrame({"adm1": ["A", "A"], "adm2": ["A1", "A1"], "sex": ["f", "f"], "round": [1, 2],
                               "value": [5, 6]})
    with pytest.raises(SpecError, match="one round"):
        dp_release(two_rounds, SPEC, PLACES, epsilon=1)
