"""Rolling a round up the admin hierarchy: totals vs parts vs breakdowns, lowest level wins, gaps stay gaps."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobtrack.analytics.rollup import own_figures, rollup

# country 1 > regions 10, 20 > districts 11, 12 (in 10), 21 (in 20) > site 111 (in 11)
PLACES = pl.DataFrame({
    "id": [1, 10, 20, 11, 12, 21, 111],
    "admin_level": [0, 1, 1, 2, 2, 2, 5],
    "parent_id": [None, 1, 1, 10, 10, 20, 11],
}, schema={"id": pl.Int64, "admin_level": pl.Int8, "parent_id": pl.Int64})


def obs(*rows):
    return pl.DataFrame(
        [dict(location_id=r[0], role=r[1], value=r[2], population_group="idps", unit="individuals",
              sex=r[3] if len(r) > 3 else None) for r in rows],
        schema={"location_id": pl.Int64, "role": pl.String, "value": pl.Int64, "population_group": pl.String,
                "unit": pl.String, "sex": pl.String},
    )


def value_of(figures, location_id):
    row = figures.filter(pl.col("location_id") == location_id)
    return row["value"].item() if row.height else None


def test_parts_are_summed_and_breakdowns_are_not():
    frame = own_figures(obs((11, "part", 60), (11, "part", 40), (11, "breakdown", 50, "male"),
                            (11, "breakdown", 50, "female")))
    assert frame["source_value"].to_list() == [100]


def test_a_total_wins_over_parts_of_the_same_cell():
    frame = own_figures(obs((11, "total", 100), (11, "part", 70)))
    assert frame["source_value"].to_list() == [100]


def test_upper_levels_are_computed_from_the_lowest_level_present():
    figures = rollup(obs((11, "total", 100), (12, "total", 50), (21, "total", 7), (10, "total", 999)), PLACES)
    assert value_of(figures, 10) == 150
    assert value_of(figures, 20) == 7
    assert value_of(figures, 1) == 157
    # the source's own regional figure is kept for comparison, not used
    assert figures.filter(pl.col("location_id") == 10)["source_value"].item() == 999


def test_a_branch_without_lower_data_keeps_its_own_figure():
    figures = rollup(obs((11, "total", 100), (20, "total", 30)), PLACES)
    assert value_of(figures, 1) == 130
    assert value_of(figures, 20) == 30


def test_a_parent_with_data_below_takes_the_sum_below_and_keeps_its_own_for_comparison():
    figures = rollup(obs((11, "total", 1), (111, "total", 0)), PLACES)
    row = figures.filter(pl.col("location_id") == 11)
    assert (row["value"].item(), row["source_value"].item()) == (0, 1)


def test_sites_roll_up_through_their_parents():
    figures = rollup(obs((111, "total", 5), (12, "total", 1)), PLACES)
    assert value_of(figures, 11) == 5
    assert value_of(figures, 10) == 6
    assert value_of(figures, 1) == 6


def test_missing_values_are_counted_not_zeroed():
    figures = rollup(obs((11, "total", None), (12, "total", 4)), PLACES)
    assert value_of(figures, 11) is None
    assert figures.filter(pl.col("location_id") == 10)["missing"].item() == 1


@pytest.mark.parametrize("level", [0, 1, 2])
def test_unplaced_rows_are_not_counted(level):
    figures = rollup(obs((None, "total", 5), (11, "total", 2)), PLACES)
    assert figures.filter(pl.col("admin_level") == level)["value"].sum() == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([12, 21, 111]), st.integers(0, 10_000)), min_size=1, max_size=30))
def test_every_level_adds_up_to_the_country(rows):
    """Whatever the leaves hold (sites, or districts without sites), admin0 = sum of admin1 = all leaves."""
    # rows for the same place are parts of its figure
    figures = rollup(obs(*[(loc, "part", v) for loc, v in rows]), PLACES)
    country = value_of(figures, 1)
    assert country == sum(v for _, v in rows)
    assert figures.filter(pl.col("admin_level") == 1)["value"].sum() == country


def test_a_cell_with_a_total_counts_only_the_totals_gaps_and_a_cell_of_parts_only_its_parts():
    frame = own_figures(obs((11, "total", None), (11, "part", 5), (11, "part", None), (12, "part", 3),
                            (12, "part", None), (21, "part", None), (10, "total", 8), (10, "total", 2)))
    got = {r["location_id"]: (r["source_value"], r["missing"]) for r in frame.iter_rows(named=True)}
    assert got == {11: (None, 1), 12: (3, 1), 21: (None, 1), 10: (10, 0)}
    assert frame.schema["missing"] == pl.Int32 and frame.schema["source_value"] == pl.Int64


def test_a_row_of_another_role_does_not_change_the_choice_of_a_total():
    frame = own_figures(obs((11, "total", 7), (11, "estimate", 100), (12, "estimate", 4)))
    got = {r["location_id"]: (r["source_value"], r["missing"]) for r in frame.iter_rows(named=True)}
    assert got == {11: (7, 0), 12: (4, 0)}
