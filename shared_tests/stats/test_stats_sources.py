"""The real statistics: the crosswalk maps every country or territory in every source (or says why not),
loads are idempotent, and OD matrices equal a plain group-by of the raw file."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from mobtrack.stats.crosswalk_report import report_files
from mobtrack.stats.load import load_file
from mobtrack.stats.od import ODQuery, od_matrix

ALL_FILES = [
    "undesa/undesa_stocks.csv.gz", "undesa/undesa_stocks_2020.csv.gz",
    "unhcr/population.csv.gz", "unhcr/asylum_applications.csv.gz", "unhcr/asylum_decisions.csv.gz",
    "unhcr/flows.csv.gz", "unhcr/solutions.csv.gz", "unhcr/demographics.csv.gz", "unhcr/idmc.csv", "unhcr/unrwa.csv",
    "idmc/idmc_stocks.csv", "idmc/idmc_flows.csv", "worldbank/worldbank_bilateral_migration_matrix_2013.tsv",
]
# What the sources hold that is not a country, and must be reported as such (with a reason), not dropped.
EXPECTED_NON_COUNTRY = {"UNK", "XXA", "TIB"}


def test_crosswalk_maps_every_country_in_every_source(shared_data):
    report = report_files([shared_data / "stats" / f for f in ALL_FILES])
    assert report["unmapped_total"] == 0, [(f["file"], f["unmapped"]) for f in report["files"] if f["unmapped"]]
    non_country = {e["code"] for f in report["files"] for e in f["non_country"]}
    assert non_country == EXPECTED_NON_COUNTRY
    assert all(e["reason"] for f in report["files"] for e in f["non_country"])
    by_file = {f["file"]: f for f in report["files"]}
    assert len(by_file["worldbank_bilateral_migration_matrix_2013.tsv"]["mapped"]) == 214
    territories = {e["code"] for f in report["files"] for e in f["mapped"] if e["kind"] == "territory"}
    assert {"AB9", "XKX", "XCX"} <= territories


def test_committed_crosswalk_is_what_the_builder_makes(shared_data):
    """The codes must be reproducible from the committable sources. Names and aliases may drift with a
    newer pycountry release (then rebuild the file); the codes may not."""
    from importlib import resources

    from mobtrack.stats.build_crosswalk import build

    stable = ("code", "kind", "iso2", "m49", "unhcr_code", "other_codes")
    committed = resources.files("mobtrack").joinpath("data/countries.csv").read_text(encoding="utf-8")
    body = "\n".join(line for line in committed.splitlines() if not line.startswith("#"))
    rows = [{k: r[k] for k in stable} for r in csv.DictReader(io.StringIO(body))]
    assert rows == [{k: r[k] for k in stable} for r in build(shared_data)]


def test_loads_are_idempotent_and_complete(stats_store, shared_data):
    engine, results = stats_store
    desa = results["undesa/undesa_stocks.csv.gz"]
    raw_rows = pl.read_csv(shared_data / "stats/undesa/undesa_stocks.csv.gz").height
    assert desa.status == "loaded" and desa.facts == raw_rows and desa.rejected_rows == 0
    again = load_file(engine, shared_data / "stats/undesa/undesa_stocks.csv.gz")
    assert again.status == "unchanged" and again.release_id == desa.release_id


@pytest.mark.parametrize(("year", "country"), [(2024, None), (1990, None), (2020, "SYR"), (2024, "USA")])
def test_undesa_od_equals_raw_group_by(stats_store, shared_data, year, country):
    engine, _ = stats_store
    raw = pl.read_csv(shared_data / "stats/undesa/undesa_stocks.csv.gz").filter(pl.col("t") == year)
    if country:
        raw = raw.filter((pl.col("geo") == country) | (pl.col("from") == country))
    full = raw.with_columns(pl.col("from").replace({"OOO": "UNK"})).group_by("from", "geo").agg(pl.col("n").sum())
    expected = dict(zip(zip(full["from"], full["geo"], strict=True), full["n"].cast(pl.Float64), strict=True))
    got = od_matrix(engine, "undesa", ODQuery(year=year, country=country, top=20))
    assert len(got) == 20
    assert got["value"].to_list() == sorted(expected.values(), reverse=True)[:20]
    # each corridor shown holds the raw sum for that pair (ties at the cut-off may pick either pair)
    for o, d, v in got.select("origin", "destination", "value").iter_rows():
        assert expected[(o, d)] == v
