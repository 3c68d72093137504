"""Loading into the store: atomic, idempotent, nothing silent, corrections supersede."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mobtrack.stats import load as load_module
from mobtrack.stats.facts import LoadError
from mobtrack.stats.load import load_file
from mobtrack.stats.tables import stats_corridor, stats_fact, stats_release
from mobtrack.store.schema import issue, source_file
from tests.stats.conftest import UNDESA, write


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_load_writes_release_facts_and_corridors(engine, files):
    r = load_file(engine, files["undesa"])
    assert (r.status, r.dataset, r.edition, r.facts, r.rejected_rows) == ("loaded", "undesa_stock", "2020", 13, 0)
    assert count(engine, stats_fact) == 13
    # corridors sum the sexes: DEU<-SYR 2020 is 400 + 500
    with engine.connect() as conn:
        v = conn.execute(select(stats_corridor.c.value, stats_corridor.c.facts).where(
            stats_corridor.c.year == 2020, stats_corridor.c.origin == "SYR", stats_corridor.c.destination == "DEU")).one()
    assert tuple(v) == (900, 2)
    assert count(engine, stats_corridor) == 7


def test_same_file_again_changes_nothing(engine, files):
    first = load_file(engine, files["undesa"])
    again = load_file(engine, files["undesa"])
    assert again.status == "unchanged" and again.release_id == first.release_id
    assert count(engine, stats_release) == 1 and count(engine, source_file) == 1 and count(engine, stats_fact) == 13


def test_same_facts_in_other_bytes_change_nothing(engine, files, tmp_path):
    load_file(engine, files["undesa"])  # gzip
    plain = write(tmp_path / "undesa_plain.csv", UNDESA)  # same content, different bytes
    r = load_file(engine, plain)
    assert r.status == "unchanged" and "same facts" in r.message
    assert count(engine, stats_release) == 1


def test_a_corrected_file_supersedes_and_keeps_the_old_release(engine, files, tmp_path):
    first = load_file(engine, files["undesa"])
    fixed = write(tmp_path / "undesa_fixed.csv", UNDESA.replace("DEU,2020,SYR,male,500", "DEU,2020,SYR,male,510"))
    second = load_file(engine, fixed)
    assert second.status == "loaded" and second.superseded == [first.release_id]
    with engine.connect() as conn:
        rows = conn.execute(select(stats_release.c.id, stats_release.c.superseded_at).order_by(stats_release.c.id)).all()
    assert rows[0].superseded_at is not None and rows[1].superseded_at is None
    assert count(engine, stats_fact) == 26  # the old release's facts stay retrievable


def test_another_edition_does_not_supersede(engine, files, tmp_path):
    load_file(engine, files["undesa"])
    older = write(tmp_path / "undesa_2015.csv", "\n".join(UNDESA.splitlines()[:5]) + "\n")
    r = load_file(engine, older)
    assert r.edition == "2015" and r.superseded == []


def test_rejected_rows_are_stored_as_issues(engine, tmp_path):
    bad = write(tmp_path / "bad.csv", UNDESA + "DEU,2020,ZZZ,male,5,1,0,1,0\n")
    r = load_file(engine, bad)
    assert r.status == "loaded" and r.rejected_rows == 1 and r.facts == 13
    with engine.connect() as conn:
        stored = conn.execute(select(issue.c.row, issue.c.column, issue.c.rule)).all()
    assert [tuple(s) for s in stored] == [(15, "from", "unknown-country")]


def test_strict_rejects_the_whole_file(engine, tmp_path):
    bad = write(tmp_path / "bad.csv", UNDESA + "DEU,2020,ZZZ,male,5,1,0,1,0\n")
    r = load_file(engine, bad, strict=True)
    assert r.status == "rejected" and r.issues
    assert count(engine, stats_release) == 0 and count(engine, source_file) == 0


def test_a_failure_mid_write_leaves_nothing(engine, files, monkeypatch):
    real = load_module.insert_frame

    def failing(conn, table, frame):
        if table is stats_corridor:
            raise RuntimeError("disk full")
        return real(conn, table, frame)

    monkeypatch.setattr(load_module, "insert_frame", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        load_file(engine, files["undesa"])
    for table in (stats_release, stats_fact, source_file, issue):
        assert count(engine, table) == 0


def test_unreadable_or_unknown_files(engine, tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load_file(engine, tmp_path / "missing.csv")
    with pytest.raises(LoadError, match="cannot tell which source"):
        load_file(engine, write(tmp_path / "other.csv", "x,y\n1,2\n"))
    with pytest.raises(LoadError, match="no usable rows"):
        load_file(engine, write(tmp_path / "empty.csv", "geo,t,from,sex,n\n"))


def test_repeated_rows_are_not_summed_twice(engine, tmp_path):
    text = UNDESA + "DEU,2020,SYR,female,400,1,0,1,0\nTUR,2020,DEU,male,46,1,0,1,0\n"
    r = load_file(engine, write(tmp_path / "dups.csv", text))
    found = sorted((i.row, i.rule) for i in r.issues)
    # row 15 repeats row 6 exactly; row 16 contradicts row 14, so both go
    assert found == [(14, "conflicting-duplicate"), (15, "duplicate-row"), (16, "conflicting-duplicate")]
    assert r.facts == 12 and r.rejected_rows == 3
    with engine.connect() as conn:
        v = conn.execute(select(stats_corridor.c.value).where(
            stats_corridor.c.year == 2020, stats_corridor.c.origin == "SYR", stats_corridor.c.destination == "DEU")).scalar()
    assert v == 900


def test_corridors_take_totals_per_category(engine, tmp_path):
    import polars as pl

    from mobtrack.stats.facts import conform
    from mobtrack.stats.load import build_corridors

    facts = conform(pl.DataFrame({
        "row": [2, 3, 4, 5, 6], "year": [2020] * 5, "origin": ["SYR"] * 5, "destination": ["DEU"] * 5,
        "measure": ["migrant_stock"] * 5, "sex": ["total", "female", "male", "female", "male"],
        "age": ["0-14", "0-14", "0-14", "15+", "15+"], "value": [10.0, 4.0, 6.0, 1.0, 2.0]}))
    assert build_corridors(facts).select("value", "facts").row(0) == (13.0, 3)
