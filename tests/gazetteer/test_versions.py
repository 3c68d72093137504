"""Boundary versions: loading files as versions, choosing the one valid for a round, codes of other versions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import func, select

from mobtrack import gazetteer
from mobtrack.gazetteer.readers import GazetteerFileError
from mobtrack.model.records import conform
from mobtrack.store.schema import location
from tests.gazetteer.helpers import ADM2, write_geojson


def _resolve(engine, day, **columns):
    n = len(next(iter(columns.values())))
    records = conform(pl.DataFrame({**columns, "source_row": list(range(2, n + 2)), "value": [1] * n})
                      .with_columns(pl.lit("TCD").alias("country_iso3")))
    with engine.begin() as conn:
        return gazetteer.resolve_places(conn, records, country_iso3="TCD", reporting_date=day, source_file_id=None,
                                        file_name="in.csv")


@pytest.fixture
def two_versions(engine, tmp_path):
    """The OCHA list (TD codes, valid from 2016/2017) and an invented 2024 COD with TCD codes."""
    path = write_geojson(tmp_path / "tcd_adm2_2024.geojson", ADM2)
    with engine.begin() as conn:
        gazetteer.load_bundled(conn, ["TCD"])
        (loaded,) = gazetteer.load_paths(conn, [path], version_name="COD 2024")
    assert loaded.status == "loaded" and loaded.units == {0: 1, 1: 2, 2: 3}
    return engine, path


def test_same_files_again_change_nothing(two_versions):
    engine, path = two_versions
    with engine.begin() as conn:
        before = conn.execute(select(func.count()).select_from(location)).scalar()
        (again,) = gazetteer.load_paths(conn, [path], version_name="COD 2024")
        after = conn.execute(select(func.count()).select_from(location)).scalar()
    assert again.status == "unchanged" and before == after


def test_other_content_under_an_existing_name_is_refused(two_versions, tmp_path):
    engine, _ = two_versions
    other = write_geojson(tmp_path / "other.geojson", ADM2[:1])
    with engine.begin() as conn, pytest.raises(GazetteerFileError, match="already exists"):
        gazetteer.load_paths(conn, [other], version_name="COD 2024")


def test_version_valid_at_the_reporting_date_is_used(two_versions):
    engine, _ = two_versions
    old = _resolve(engine, dt.date(2020, 6, 1), admin_level=[2], adm1_pcode=["TD07"], adm2_name=["Mamdi"])
    new = _resolve(engine, dt.date(2025, 6, 1), admin_level=[2], adm1_pcode=["TD07"], adm2_name=["Mamdi"])
    assert old.records["location_pcode"][0] == "TD0701"
    assert new.records["location_pcode"][0] == "TCD0701"
    assert new.records["location_id"][0] != old.records["location_id"][0]
    # the 2024 layer's parent codes (TCD07) are translated from the row's TD07
    assert [i.rule for i in new.issues] == ["pcode-normalised"]


def test_code_of_another_version_is_flagged_and_the_name_decides(two_versions):
    engine, _ = two_versions
    # TD0704 (Fouli) exists only in the OCHA list, not in the 2024 layer
    out = _resolve(engine, dt.date(2025, 6, 1), admin_level=[2, 2], adm1_pcode=["TCD07", "TCD07"],
                   adm2_pcode=["TD0704", "TD0704"], adm2_name=["Fouli", "Wayi"])
    assert out.records["location_pcode"].to_list() == [None, "TCD0702"]
    rules = sorted({i.rule for i in out.issues})
    assert rules == ["pcode-other-version", "place-needs-review"]
    assert "OCHA global p-codes" in next(i.message for i in out.issues if i.rule == "pcode-other-version")


def test_child_outside_parent_is_reported(two_versions):
    engine, _ = two_versions
    out = _resolve(engine, dt.date(2025, 6, 1), admin_level=[2], adm1_pcode=["TCD01"], adm2_pcode=["TCD0701"])
    assert out.records["location_pcode"][0] == "TCD0701"
    assert [i.rule for i in out.issues] == ["child-outside-parent"]
    assert out.issues[0].column == "adm2_pcode"


def test_reporting_timestamp_is_read_as_its_day(two_versions):
    engine, _ = two_versions
    out = _resolve(engine, dt.datetime(2025, 6, 1, 12, 0), admin_level=[2], adm2_name=["Mamdi"])
    assert out.records["location_pcode"][0] == "TCD0701"


def test_version_groups_choose_as_each_day_would(two_versions):
    """Days are grouped by the spans between the versions' start and end dates: the groups are those
    that choosing the versions day by day gives, on the boundary days and either side of them too."""
    from mobtrack.gazetteer.catalogue import official
    from mobtrack.gazetteer.resolve import ADMIN_LEVELS

    engine, _ = two_versions
    with engine.begin() as conn:
        gaz = official(conn, "TCD")
        bounds = sorted({d for v in gaz.versions for d in (v.valid_from, v.valid_to) if d is not None})
        assert bounds  # the 2024 COD starts a span
        days = sorted({b + dt.timedelta(days=k) for b in bounds for k in (-400, -1, 0, 1, 400)}
                      | {dt.date(2000, 1, 1), dt.date(2030, 1, 1)})
        expected: dict[tuple, list] = {}
        for day in days:
            chosen = tuple(None if v is None else (v.id, v.name) for v in (gaz.choose(lvl, day) for lvl in (0, *ADMIN_LEVELS)))
            expected.setdefault(chosen, []).append(day)
        assert len(expected) >= 2
        assert gazetteer.version_groups(conn, "TCD", days) == list(expected.values())


def test_rounds_either_side_of_a_new_version_in_one_batch_each_use_their_own(two_versions, db_url, tmp_path):
    """One import batch holding a 2020 round (OCHA list) and a 2025 round (2024 COD): each round's rows
    are matched against the version valid at its own date, not at the batch's latest date."""
    from mobtrack.ingest import ImportOptions
    from mobtrack.pipeline import import_file
    from mobtrack.store import rounds
    from mobtrack.store.schema import round_, round_version

    engine, _ = two_versions
    frame = pl.DataFrame({
        "operation": ["Invented Chad operation"] * 2, "country_iso3": ["TCD"] * 2, "assessment_type": ["BA"] * 2,
        "round_number": [1, 2], "reporting_date": ["2020-06-01", "2025-06-01"], "admin_level": [2, 2],
        "adm1_pcode": ["TD07", "TD07"], "adm2_name": ["Mamdi", "Mamdi"], "population_group": ["idps"] * 2,
        "unit": ["individuals"] * 2, "role": ["total"] * 2, "value": ["10", "12"]})
    path = tmp_path / "two_rounds.csv"
    frame.write_csv(path)
    with engine.begin() as conn:
        assert gazetteer.version_groups(conn, "TCD", [dt.date(2020, 6, 1), dt.date(2025, 6, 1)]) == [
            [dt.date(2020, 6, 1)], [dt.date(2025, 6, 1)]]
    import_file(path, ImportOptions(batch_rows=250_000), db_url=db_url)
    with engine.connect() as conn:
        versions = conn.execute(select(round_.c.number, round_version.c.id)
                                .join(round_version, round_version.c.round_id == round_.c.id)
                                .order_by(round_.c.number)).all()
        pcodes = {number: rounds.read_observations(conn, vid)["location_pcode"].to_list() for number, vid in versions}
    assert pcodes == {1: ["TD0701"], 2: ["TCD0701"]}
