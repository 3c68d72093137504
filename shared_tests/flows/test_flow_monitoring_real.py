"""The real DTM flow-monitoring exports: West & Central Africa counts (867,580 rows) and Afghanistan surveys.

One database per module (SQLite, or PostgreSQL with MOBTRACK_TEST_DATABASE_URL): a failed import
(stopped mid-file), then the full import, then the same file again. Kept to that because each
full import of the WCA file takes tens of seconds on CI's two cores.
"""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import func, select

from mobtrack.analytics import RoundFilter, figures
from mobtrack.ingest import ImportOptions
from mobtrack.pipeline import import_file
from mobtrack.store import schema

WCA = "dtm/flow-monitoring/dtm_wca.csv.gz"
AFG = "dtm/flow-monitoring/dtm_fms_afg.csv.gz"


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in schema.metadata.sorted_tables}


@pytest.fixture(scope="module")
def engine(module_db_url):
    from mobtrack.store.db import get_engine, upgrade

    upgrade(module_db_url)
    return get_engine(module_db_url)


@pytest.fixture(scope="module")
def wca(shared_data, engine, module_db_url):
    """The WCA import, after a failed attempt: (result, counts before the failure, counts after it)."""
    import mobtrack.pipeline as pipeline

    before = table_counts(engine)
    real, calls = pipeline.gazetteer.resolve_places, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # rounds of the first batches are already written by now
            raise RuntimeError("injected failure on the 4th batch")
        return real(*args, **kwargs)

    pipeline.gazetteer.resolve_places = failing
    try:
        with pytest.raises(RuntimeError, match="injected"):
            import_file(shared_data / WCA, ImportOptions(batch_rows=1000), db_url=module_db_url)
    finally:
        pipeline.gazetteer.resolve_places = real
    after_failure = table_counts(engine)
    result = import_file(shared_data / WCA, db_url=module_db_url)
    return result, before, after_failure


def test_failed_import_leaves_the_database_unchanged(wca):
    _, before, after_failure = wca
    assert after_failure == before


def test_wca_import_lands_whole_and_reports_every_rejected_row(shared_data, wca):
    result, _, _ = wca
    assert result.status == "imported", result.message
    raw = pl.read_csv(shared_data / WCA, infer_schema=False)
    assert raw.height == 867_580
    no_point = raw.with_row_index("row", offset=2).filter(pl.col("fmp").is_null())
    rejected = sorted(i.row for i in result.issues if i.rule == "missing-required-field" and i.column == "fmp")
    assert rejected == no_point["row"].to_list()
    assert {r.status for r in result.rounds} == {"imported"}


def test_figures_per_point_equal_a_group_by_of_the_raw_file(shared_data, engine, wca):
    raw = (pl.read_csv(shared_data / WCA, schema_overrides={"n": pl.Float64})
           .filter(pl.col("fmp").is_not_null() & pl.col("fmp_country").is_not_null() & pl.col("n").is_not_null())
           .with_columns(pl.col("t").str.to_date().dt.strftime("%Y%m").cast(pl.Int64).alias("round"),
                         pl.col("fmp").str.to_lowercase().alias("point")))
    expected = raw.group_by(pl.col("fmp_country").alias("country"), "round", "point").agg(
        pl.col("n").sum().cast(pl.Int64).alias("value"))
    with engine.connect() as conn:
        stored = figures(conn, RoundFilter(assessment_type="FMC"), 5, group="migrants")
    got = stored.select(pl.col("operation").str.slice(-3).alias("country"), "round",
                        pl.col("name").str.to_lowercase().alias("point"), "value")
    key = ["country", "round", "point"]
    assert got.height == expected.height
    assert got.sort(key).equals(expected.select(got.columns).sort(key))
    # the admin0 figure of a country-month is the sum of its points (checked on the busiest one)
    month = expected.group_by("country", "round").agg(pl.col("value").sum()).sort("value").row(-1, named=True)
    with engine.connect() as conn:
        top = figures(conn, RoundFilter(country_iso3=month["country"], round_number=month["round"]), 0,
                      group="migrants")
    assert top["value"].to_list() == [month["value"]]


def test_reimport_changes_nothing(shared_data, engine, module_db_url, wca):
    counts = table_counts(engine)
    again = import_file(shared_data / WCA, db_url=module_db_url)
    assert again.status == "unchanged"
    assert table_counts(engine) == counts


@pytest.fixture(scope="module")
def afg(shared_data, wca, module_db_url):
    """The Afghanistan surveys, imported once after WCA: tests needing them must not rely on running
    after another test (pytest-xdist may send them to another worker, with its own database)."""
    return import_file(shared_data / AFG, db_url=module_db_url)


def test_afghanistan_surveys_are_stored_as_counts(shared_data, engine, afg):
    result = afg
    assert result.status == "imported", result.message
    raw = pl.read_csv(shared_data / AFG, infer_schema=False)
    usable = raw.filter(pl.col("direction").is_in(["inflow", "outflow"]))
    assert len([i for i in result.issues if i.rule == "missing-required-field"]) == raw.height - usable.height
    expected = usable.group_by(pl.col("t").str.to_date().dt.strftime("%Y%m").cast(pl.Int64).alias("round"),
                               pl.col("fmp").str.to_lowercase().alias("point")).len()
    with engine.connect() as conn:
        stored = figures(conn, RoundFilter(assessment_type="FMS"), 5, group="migrants")
    got = stored.select("round", pl.col("name").str.to_lowercase().alias("point"), pl.col("value").cast(pl.UInt32))
    assert got.sort("round", "point").equals(expected.rename({"len": "value"}).select(got.columns).sort("round", "point"))
    # no stored value is a single person's record: every value is a count over a point and month
    assert stored["value"].sum() == usable.height


def test_public_od_matrices_are_the_raw_ones_with_small_counts_hidden(engine, wca, afg):
    """The web's OD matrices (mobtrack.web.services.flows) on the real exports, every round published:
    shown corridors equal `od_matrix`, every corridor of 1..threshold people is hidden, and a shown country
    corridor never has exactly one hidden admin1 corridor in it (surveys)."""
    from sqlalchemy import update

    from mobtrack.stats.od import ODQuery, od_matrix
    from mobtrack.web.services import flows
    from mobtrack.web.services.principal import ANONYMOUS
    from mobtrack.web.services.protection import threshold

    with engine.begin() as conn:
        conn.execute(update(schema.round_).where(schema.round_.c.status == "validated").values(status="published"))
        rounds = conn.execute(select(func.count()).select_from(schema.round_)
                              .where(schema.round_.c.status != "published")).scalar_one()
    assert rounds == 0  # every round of both files can be published: the matrices below cover them all
    for q in (ODQuery(), ODQuery(year=2023), ODQuery(level="1", country="AFG")):
        raw = od_matrix(engine, "fm", q).select("origin", "destination", pl.col("value").alias("raw"))
        with engine.connect() as conn:
            public = flows.od(conn, ANONYMOUS, "fm", q).rows
        both = public.join(raw, on=["origin", "destination"], how="full", coalesce=True, nulls_equal=True)
        assert both.filter(pl.col("suppressed").is_null() & (pl.col("raw") != 0)).is_empty(), q  # nothing lost
        shown = both.filter(~pl.col("suppressed"))
        assert (shown["value"] == shown["raw"]).all(), q
        small = both.filter((pl.col("raw") >= 1) & (pl.col("raw") <= threshold()))
        assert small["suppressed"].all(), q
        assert both["suppressed"].any(), q  # real data has small corridors: the check above is not empty
    with engine.connect() as conn:
        admin1 = flows.od(conn, ANONYMOUS, "fm", ODQuery(level="1", country="AFG")).rows
        country = flows.od(conn, ANONYMOUS, "fm", ODQuery(country="AFG")).rows
    for c in country.filter(~pl.col("suppressed")).iter_rows(named=True):
        parts = admin1.filter(pl.col("origin").str.starts_with(c["origin"] + ":")
                              & pl.col("destination").str.starts_with(c["destination"] + ":"))
        assert parts["suppressed"].sum() != 1, c
