"""Suppression on real DTM data (read from ../shared/data, never copied here): the public
figures carry suppressions and the attacker recovers nothing."""

from __future__ import annotations

import polars as pl
import pytest
from tests.protect import attacker
from threadpoolctl import threadpool_limits

from mobtrack.protect.cube import TableSpec
from mobtrack.protect.suppression import suppress

MALAWI_GROUPS = {"m2968_loc_num_men_idp": "men", "m2969_loc_num_women_idp": "women", "m2970_loc_num_children_idp": "children"}


@pytest.fixture(scope="module")
def malawi(shared_data) -> pl.DataFrame:
    """IDPs per village, long by demographic group and main displacement reason."""
    survey = pl.read_csv(shared_data / "dtm/malawi/survey.csv", infer_schema_length=0)
    villages = survey.select(
        adm1="m0303_meta_adm1_pcode", adm2="m0304_meta_adm2_pcode", adm3="m0305_meta_adm3_pcode",
        reason=pl.col("m0329_loc_reason_disp_idp").fill_null("not_stated"),
        **{name: pl.col(col).cast(pl.Int64, strict=False) for col, name in MALAWI_GROUPS.items()},
    )
    return villages.unpivot(index=["adm1", "adm2", "adm3", "reason"], variable_name="group").drop_nulls("value")


@pytest.fixture(scope="module")
def wca(shared_data) -> pl.DataFrame:
    """Flow-monitoring counts per point, month and destination country, 2022 onwards."""
    flows = pl.read_csv(shared_data / "dtm/flow-monitoring/dtm_wca.csv.gz", infer_schema_length=10000)
    return (
        flows.drop_nulls("fmp")
        .with_columns(month=pl.col("t").str.to_date().dt.truncate("1mo"), value=pl.col("n").cast(pl.Int64),
                      to=pl.col("to").fill_null("unknown"))
        .filter(pl.col("month").dt.year() >= 2022)
    )


def _attack(out: pl.DataFrame, spec: TableSpec, truth):
    rels = attacker.relations(out, spec.hierarchy, spec.disaggregations, spec.round, spec.round_total)
    values = out["value"].to_list()
    for kind, rs in rels.items():
        assert attacker.peel(values, rs) == {}, kind
    everything = [r for rs in rels.values() for r in rs]
    assert attacker.peel(values, everything) == {}
    with threadpool_limits(1, user_api="blas"):
        assert attacker.linear_recoverable(values, everything) == []
    # what is shown is true, and no small count is shown
    shown = out.with_columns(truth=truth).filter(pl.col("value").is_not_null())
    assert (shown["value"] == shown["truth"]).all()
    assert not shown["value"].is_between(1, spec.threshold).any()


@pytest.mark.parametrize("disaggregations", [["group"], ["reason", "group"]])
def test_malawi_admin3_figures_are_suppressed_and_safe(malawi, disaggregations):
    spec = TableSpec(hierarchy=["adm1", "adm2", "adm3"], disaggregations=disaggregations)
    result = suppress(malawi, spec)
    admin3 = result.table()  # the public admin3 table
    assert admin3["suppressed"].sum() > 0 and admin3["value"].is_not_null().sum() > 0
    assert admin3.filter(pl.col("suppression") == "primary").height > 0
    _attack(result.table(margins=True), spec, pl.Series(result.cube.values))


def test_flow_monitoring_points_are_suppressed_and_safe(wca):
    spec = TableSpec(hierarchy=["fmp_country", "fmp"], disaggregations=["to"], round="month", round_kind="flow")
    result = suppress(wca, spec)
    per_point = result.table()
    assert per_point["suppressed"].sum() > 0
    _attack(result.table(margins=True), spec, pl.Series(result.cube.values))


def test_flow_monitoring_totals_over_a_year_recover_nothing(wca):
    """Round differencing for flows: a year's total minus the other months must not give a month."""
    year = wca.filter(pl.col("month").dt.year() == 2023)
    cells = year.group_by("fmp_country", "fmp", "to", "month").agg(pl.col("value").sum())
    # the country whose 2023 table has the most small cells: the hardest case for the attacker
    country = cells.filter(pl.col("value") <= 10).group_by("fmp_country").len().sort("len")["fmp_country"][-1]
    one = year.filter(pl.col("fmp_country") == country)
    spec = TableSpec(hierarchy=["fmp_country", "fmp"], disaggregations=["to"], round="month",
                     round_kind="flow", round_total=True)
    result = suppress(one, spec)
    assert result.table()["suppressed"].sum() > 0
    _attack(result.table(margins=True), spec, pl.Series(result.cube.values))


def test_flow_monitoring_as_stock_shows_no_small_month_to_month_change(wca):
    """Read as a stock series, consecutive months never differ by a small published count."""
    spec = TableSpec(hierarchy=["fmp_country", "fmp"], round="month", round_kind="stock")
    out = suppress(wca, spec).table(margins=True)
    assert out["suppression"].eq("round_change").sum() > 0
    leaks = attacker.small_round_changes(out, spec.keys, "month", "value", spec.threshold)
    assert leaks.height == 0
