"""Every profile figure equals its source: 10 random country-years recomputed straight from the raw
files with plain polars (no crosswalk, no loader, no store), and every figure's row references summed
back from the raw lines they point at."""

from __future__ import annotations

import os
import random

import polars as pl
import pytest

from mobtrack.stats.profiles import profile
from mobtrack.stats.releases import parse_ranges

SEED = int(os.environ.get("MOBTRACK_TEST_SEED", "20261128"))


@pytest.fixture(scope="module")
def raw(shared_data):
    s = shared_data / "stats"
    def read(path):
        # line numbers as the store records them: header is line 1
        return pl.read_csv(s / path, infer_schema_length=0).with_row_index("line", offset=2)
    return {
        "desa": read("undesa/undesa_stocks.csv.gz").with_columns(pl.col("t").cast(pl.Int32), pl.col("n").cast(pl.Float64)),
        "pop": read("unhcr/population.csv.gz").with_columns(
            pl.col("year").cast(pl.Int32), pl.col("refugees").cast(pl.Float64), pl.col("asylum_seekers").cast(pl.Float64)),
        "stock": read("idmc/idmc_stocks.csv").with_columns(pl.col("t").cast(pl.Int32), pl.col("n").cast(pl.Float64)),
        "flow": read("idmc/idmc_flows.csv").with_columns(pl.col("t").cast(pl.Int32), pl.col("n").cast(pl.Float64)),
    }


def country_years(raw) -> list[tuple[str, int]]:
    desa = raw["desa"]
    iso_like = desa.filter(pl.col("geo").str.contains(r"^[A-Z]{3}$") & (pl.col("geo") != "OOO"))
    pairs = sorted(set(iso_like.select("geo", "t").unique().rows()))
    return random.Random(SEED).sample(pairs, 10)  # noqa: S311 (test sampling, not security)


def latest(frame: pl.DataFrame, year_col: str, year: int) -> pl.DataFrame:
    frame = frame.filter(pl.col(year_col) <= year)
    return frame.filter(pl.col(year_col) == frame[year_col].max()) if len(frame) else frame


def check(fig, expected: pl.DataFrame, value_col: str, year_col: str, lines_of: pl.DataFrame, msg: str):
    if expected.is_empty() or expected[value_col].fill_null(0).sum() == 0:
        assert fig is None or fig["value"] == 0, msg
        return
    assert fig is not None, msg
    assert fig["value"] == pytest.approx(expected[value_col].fill_null(0).sum()), msg
    assert fig["year"] == expected[year_col].max(), msg
    # the rows the figure points at hold exactly that value
    rows = set(parse_ranges(fig["ref"]["rows"]))
    pointed = lines_of.filter(pl.col("line").is_in(list(rows)))
    assert pointed[value_col].fill_null(0).sum() == pytest.approx(fig["value"]), msg


def test_ten_random_country_years(stats_store, raw):
    engine, _ = stats_store
    for iso, year in country_years(raw):
        p = profile(engine, iso, year)
        f = p["figures"]
        desa, pop = raw["desa"], raw["pop"]
        msg = f"{iso} {year} (seed {SEED})"
        check(f["immigrant_stock"], desa.filter((pl.col("geo") == iso) & (pl.col("t") == year)), "n", "t", desa, msg)
        check(f["emigrant_stock"], desa.filter((pl.col("from") == iso) & (pl.col("t") == year)), "n", "t", desa, msg)
        # top origins: the same ranking, value by value
        by_origin = (desa.filter((pl.col("geo") == iso) & (pl.col("t") == year)).group_by("from")
                     .agg(pl.col("n").sum()).sort("n", descending=True).head(10))
        got = [i["value"] for i in f["top_origins"]["items"]] if f["top_origins"] else []
        assert got == by_origin["n"].to_list(), msg
        for name, side, measure in (("refugees_hosted", "coa_iso", "refugees"),
                                    ("refugees_originating", "coo_iso", "refugees"),
                                    ("asylum_seekers_hosted", "coa_iso", "asylum_seekers"),
                                    ("asylum_seekers_originating", "coo_iso", "asylum_seekers")):
            subset = pop.filter((pl.col(side) == iso) & pl.col(measure).fill_null(0).gt(0))
            check(f[name], latest(subset, "year", year), measure, "year", pop, msg)
        stock = latest(raw["stock"].filter(pl.col("geo") == iso), "t", year)
        check(f["idps"]["idmc"], stock, "n", "t", raw["stock"], msg)
        flow = latest(raw["flow"].filter(pl.col("geo") == iso), "t", year)
        if not flow.is_empty():
            nd = f["new_displacements"]
            assert nd["value"] == pytest.approx(flow["n"].sum()), msg
            expected = dict(flow.group_by("cause").agg(pl.col("n").sum()).rows())
            assert {c["cause"]: c["value"] for c in nd["by_cause"]} == pytest.approx(expected), msg


def test_every_figure_carries_value_year_source_definition_ref(stats_store):
    engine, _ = stats_store
    f = profile(engine, "SDN")["figures"]
    for name in ("immigrant_stock", "emigrant_stock", "refugees_hosted", "refugees_originating", "new_displacements"):
        assert {"value", "year", "source", "definition", "ref"} <= set(f[name]), name
        assert f[name]["ref"]["sha256"] and f[name]["ref"]["rows"]
    assert {"value", "year", "source", "definition", "ref"} <= set(f["idps"]["idmc"])
