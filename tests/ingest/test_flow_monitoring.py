"""Flow-monitoring adapter on generated files (DTM data may never be committed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from mobtrack.analytics import RoundFilter, figures
from mobtrack.ingest import ImportOptions, SourceFile, get_adapter
from mobtrack.ingest.flow_monitoring import FlowMonitoringAdapter, line_chunks
from mobtrack.pipeline import import_file
from mobtrack.store.rounds import read_observations

COUNTS_HEADER = "t,route,fmp,fmp_country,from,to,n,reason_economic\n"


def write(path: Path, text: str, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def counts_file(tmp_path: Path, rows: list[str], gz: bool = True, name: str = "fm_counts.csv.gz") -> Path:
    return write(tmp_path / name, COUNTS_HEADER + "".join(r + "\n" for r in rows), gz=gz)


def read_all(path: Path, **options) -> tuple[pl.DataFrame, list]:
    batches = list(FlowMonitoringAdapter().read(SourceFile.from_path(path), ImportOptions(**options)))
    return pl.concat([b.records for b in batches]), [i for b in batches for i in b.issues]


def test_sniffs_gzip_and_plain_exports(tmp_path):
    for gz, name in ((True, "a.csv.gz"), (False, "a.csv")):
        path = counts_file(tmp_path, ["2024-01-02,,Kano,NGA,NER,NGA,5.0,1"], gz=gz, name=name)
        assert get_adapter(SourceFile.from_path(path)).name == "dtm-flow-monitoring"


def test_rows_of_a_month_are_summed_per_point_and_corridor(tmp_path):
    path = counts_file(tmp_path, [
        "2024-01-02,,Kano,NGA,NER,NGA,5.0,1",
        "2024-01-02,,Kano,NGA,NER,NGA,7.0,0",   # same day, same corridor: another tally, added
        "2024-01-30,,kano,NGA,NER,NGA,3,1",     # another spelling of the same point
        "2024-01-15,,Kano,NGA,NGA,NER,4.0,",
        "2024-02-01,,Kano,NGA,NER,NGA,10.0,1",  # next month: next round
        "2024-01-03,,Sokoto,NGA,NGA,NGA,2.0,0",
    ])
    records, issues = read_all(path)
    assert issues == []
    got = {(r["round_number"], r["site_name"], r["origin_pcode"], r["destination_pcode"]): (r["value"], r["direction"])
           for r in records.iter_rows(named=True)}
    assert got == {
        (202401, "Kano", "NER", "NGA"): (15, "incoming"),
        (202401, "Kano", "NGA", "NER"): (4, "outgoing"),
        (202401, "Sokoto", "NGA", "NGA"): (2, "internal"),
        (202402, "Kano", "NER", "NGA"): (10, "incoming"),
    }
    first = records.filter(pl.col("round_number") == 202401).row(0, named=True)
    assert first["operation"] == "DTM flow monitoring NGA" and first["assessment_type"] == "FMC"
    assert str(first["period_start"]) == "2024-01-01" and str(first["reporting_date"]) == "2024-01-31"
    assert first["admin_level"] == 5 and first["role"] == "part" and first["population_group"] == "migrants"
    # provenance: the first source row summed into the value
    kano = records.filter((pl.col("site_name") == "Kano") & (pl.col("origin_pcode") == "NER")
                          & (pl.col("round_number") == 202401))
    assert kano["source_row"].item() == 2


def test_every_unusable_row_is_reported_and_left_out(tmp_path):
    path = counts_file(tmp_path, [
        "2024-01-02,,Kano,NGA,NER,NGA,5.0,1",
        "2024-01-02,,,NGA,NER,NGA,9.0,1",          # row 3: no point
        "not a date,,Kano,NGA,NER,NGA,1.0,1",      # row 4
        "2024-01-02,,Kano,NGA,NER,NGA,2.5,1",      # row 5: fractional
        "2024-01-02,,Kano,NGA,NER,NGA,-3,1",       # row 6: negative
        "2024-01-02,,Kano,NGA,NER,NGA,,1",         # row 7: empty
        "2024-01-02,,Kano,,NER,NGA,4,1",           # row 8: no country
    ])
    records, issues = read_all(path)
    assert records["value"].sum() == 5
    found = {(i.row, i.column, i.rule) for i in issues}
    assert found == {(3, "fmp", "missing-required-field"), (4, "t", "implausible-date"),
                     (5, "n", "fractional-count"), (6, "n", "negative-count"), (7, "n", "empty-count"),
                     (8, "fmp_country", "missing-required-field")}
    assert all(i.file == "fm_counts.csv.gz" for i in issues)
    # rows that belong to no point are warnings; an unreadable count leaves a point short: an error
    assert {i.row for i in issues if str(i.severity) == "error"} == {5, 6, 7}


def test_country_option_replaces_a_missing_country_column(tmp_path):
    path = write(tmp_path / "c.csv", "t,fmp,from,to,n\n2024-03-05,Rosso,SEN,MRT,3\n")
    with pytest.raises(Exception, match="--country"):
        read_all(path)
    records, _ = read_all(path, country_iso3="sen")
    assert records["country_iso3"].to_list() == ["SEN"] and records["direction"].to_list() == ["outgoing"]


def test_chunks_end_on_whole_records_even_inside_quotes(tmp_path):
    body = "".join(f'2024-01-0{1 + i % 9},"Point\nwith break {i % 3}",NGA,NER,NGA,1\n' for i in range(500))
    path = write(tmp_path / "q.csv.gz", "t,fmp,fmp_country,from,to,n\n" + body, gz=True)
    blocks = list(line_chunks(path, 256))
    assert len(blocks) > 10
    assert all(b.startswith(b"t,fmp,fmp_country,from,to,n\n") and b.count(b'"') % 2 == 0 for b in blocks)
    # every record once, in order, whatever the block size
    assert b"".join(b.split(b"\n", 1)[1] for b in blocks) == body.encode()
    records, issues = read_all(path, batch_rows=3)  # tiny chunks: sums must not depend on chunking
    assert issues == [] and records["value"].sum() == 500 and records["site_name"].n_unique() == 3


SURVEY_HEADER = ("t,fmp,direction,nationality,sex,age,uam,origin,origin_adm1,origin_adm2,destination,"
                 "destination_adm1,destination_adm2,stay_origin,reason_economic\n")


def survey_file(tmp_path: Path) -> Path:
    rows = [
        "2024-01-28,Border A,inflow,AFG,female,0-5,0,IRN,Tehran,Tehran,AFG,Herat,Ghoryan,>1 year,1",
        "2024-01-28,Border A,inflow,AFG,male,18-59,0,IRN,Tehran,Tehran,AFG,Herat,Herat,<3 months,0",
        "2024-01-29,Border A,inflow,AFG,male,18-59,1,IRN,Tehran,Karaj,AFG,Herat,Herat,no answer,1",
        "2024-01-29,Border A,outflow,AFG,male,18-59,0,AFG,Herat,Herat,IRN,Tehran,Tehran,no answer,1",
        "2024-01-30,Border A,inflow,AFG,male,18-59,0,PAK,Sindh,Karachi,,,,no answer,1",  # no destination
        "2024-01-30,Border A,sideways,AFG,male,18-59,0,PAK,Sindh,Karachi,AFG,Kabul,Kabul,no answer,1",
    ]
    return write(tmp_path / "fms.csv.gz", SURVEY_HEADER + "".join(r + "\n" for r in rows), gz=True)


def test_survey_records_become_counts_only(tmp_path):
    records, issues = read_all(survey_file(tmp_path))
    assert [(i.row, i.column) for i in issues] == [(7, "direction")]
    assert set(records["assessment_type"]) == {"FMS"}
    # the point's country is where most of its travellers enter or leave, not the missing destination
    assert set(records["country_iso3"]) == {"AFG"} and set(records["operation"]) == {"DTM flow monitoring survey AFG"}
    parts = records.filter(pl.col("role") == "part")
    assert parts["value"].sum() == 5
    tehran = parts.filter((pl.col("origin_name") == "Tehran") & (pl.col("direction") == "incoming"))
    assert tehran["value"].to_list() == [3] and tehran["destination_name"].to_list() == ["Herat"]
    breakdown = records.filter(pl.col("role") == "breakdown")
    assert breakdown["value"].sum() == 5
    assert set(zip(breakdown["sex"], breakdown["age_band"], strict=True)) >= {("female", "0-5"), ("male", "18-59")}
    # personal fields never reach a record: no admin2, no stay length, no minor flag
    text = records.select(pl.all().cast(pl.String)).to_pandas().to_string()
    for personal in ("Karaj", "Ghoryan", ">1 year", "<3 months"):
        assert personal not in text


def test_import_is_atomic_idempotent_and_figures_per_point(tmp_path, db_url):
    path = counts_file(tmp_path, [
        "2024-01-02,,Kano,NGA,NER,NGA,5.0,1", "2024-01-09,,Kano,NGA,NGA,NER,6.0,1",
        "2024-02-02,,Kano,NGA,NER,NGA,1.0,1", "2024-01-05,,Rosso,SEN,SEN,MRT,8.0,1",
    ])
    first = import_file(path, db_url=db_url)
    assert first.status == "imported" and len(first.rounds) == 3
    assert import_file(path, db_url=db_url).status == "unchanged"
    from mobtrack.store.db import get_engine

    with get_engine(db_url).connect() as conn:
        fig = figures(conn, RoundFilter(country_iso3="NGA", round_number=202401), 5, group="migrants")
        assert fig.select("name", "value").rows() == [("Kano", 11)]
        # every stored value is placed: points become source-defined sites of their country
        obs = read_observations(conn, first.rounds[0].version_id)
        assert obs["location_id"].null_count() == 0
        country = figures(conn, RoundFilter(country_iso3="NGA", round_number=202401), 0, group="migrants")
        assert country["value"].to_list() == [11]


def test_sums_do_not_depend_on_chunk_size(tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    row = st.tuples(st.integers(1, 28), st.integers(1, 3), st.sampled_from(["Kano", "kano", "Sokoto", "Arlit"]),
                    st.sampled_from(["NER", "NGA"]), st.sampled_from(["NER", "NGA", "OOO"]), st.integers(0, 500))

    @settings(max_examples=25, deadline=None)
    @given(rows=st.lists(row, min_size=1, max_size=300), batch_rows=st.integers(1, 400))
    def check(rows, batch_rows):
        lines = [f"2024-{m:02d}-{d:02d},,{p},NGA,{o},{t},{n}.0,1" for d, m, p, o, t, n in rows]
        path = counts_file(tmp_path, lines)
        records, issues = read_all(path, batch_rows=batch_rows)
        assert issues == []
        raw = pl.DataFrame(rows, schema=["d", "m", "p", "o", "t", "n"], orient="row")
        expected = raw.group_by(pl.col("m").cast(pl.Int32) + 202400, pl.col("p").str.to_lowercase(), "o", "t").agg(
            pl.col("n").sum())
        got = records.select(pl.col("round_number").alias("m"), pl.col("site_name").str.to_lowercase().alias("p"),
                             pl.col("origin_pcode").alias("o"), pl.col("destination_pcode").alias("t"),
                             pl.col("value").alias("n"))
        assert got.sort("m", "p", "o", "t").equals(expected.select(got.columns).sort("m", "p", "o", "t"))

    check()


def test_rows_sharing_their_text_are_still_judged_one_by_one(tmp_path):
    # the adapter sums rows per distinct text before checking: each row must still count or be reported
    path = write(tmp_path / "m.csv", "t,fmp,fmp_country,lat,lon,from,to,n\n"
                 "2024-01-02, Kano ,NGA,,,NER,NGA,5\n"         # row 2
                 "2024-01-02, Kano ,NGA,,,NER,NGA,abc\n"       # row 3: same text, unusable count
                 "2024-01-02,kano,NGA,12.0,8.5,NER,NGA,4\n"    # row 4: another spelling; first coordinates
                 "2024-01-02, Kano ,NGA,,,NER,NGA,-1\n"        # row 5
                 "bad,Kano,NGA,,,NER,NGA,1\n"                  # rows 6-8: a text no row of which can be used
                 "bad,Kano,NGA,,,NER,NGA,x\n"
                 "bad,Kano,NGA,,,NER,NGA,2\n"
                 "2024-01-05,Kano,NGA,13.0,9.0,NER,NGA,3\n")   # row 9
    records, issues = read_all(path)
    assert records.select("site_name", "value", "source_row", "latitude", "longitude").rows() == [
        ("Kano", 12, 2, 12.0, 8.5)]
    assert sorted((i.row, i.column, i.rule, i.value) for i in issues) == [
        (3, "n", "non-numeric-count", "abc"), (5, "n", "negative-count", "-1"), (6, "t", "implausible-date", "bad"),
        (7, "t", "implausible-date", "bad"), (8, "t", "implausible-date", "bad")]


def test_point_type_transport_and_coordinates_are_kept(tmp_path, db_url):
    path = write(tmp_path / "geo.csv", "t,fmp,fmp_country,fmp_type,transport,lat,lon,from,to,n\n"
                 "2024-01-02,Kano,NGA,bus station,bus,12.0,8.5,NER,NGA,5\n"
                 "2024-01-03,Kano,NGA,bus station,truck,,,NER,NGA,2\n"
                 "2024-01-03,Rosso,SEN,border crossing,,95.0,-15.8,SEN,MRT,1\n")  # latitude out of range: dropped
    records, _ = read_all(path)
    kano = records.filter(pl.col("site_name") == "Kano")
    assert sorted(kano["transport"]) == ["bus", "truck"] and set(kano["site_type"]) == {"bus station"}
    assert set(zip(kano["latitude"], kano["longitude"], strict=True)) == {(12.0, 8.5)}
    rosso = records.filter(pl.col("site_name") == "Rosso").row(0, named=True)
    assert rosso["latitude"] is None and rosso["longitude"] == -15.8
    assert import_file(path, db_url=db_url).status == "imported"
    from mobtrack.analytics import flows
    from mobtrack.store.db import get_engine

    with get_engine(db_url).connect() as conn:
        points = flows.by_point(flows.flow_records(conn, country="NGA"))
    assert points.select("point", "latitude", "longitude", "value").rows() == [("Kano", 12.0, 8.5, 7)]


def test_the_same_file_gives_the_same_rows_and_site_ids_every_time(tmp_path):
    # sums come out of hash tables: without a defined order, two imports of one file stored their rows,
    # new sites' ids and the rows issues point to in a different order each time
    lines = [f"2024-0{m}-{d:02d},,Point {p},NGA,{o},NGA,{(p * 7 + d) % 50 + 1}.0,1"
             for m in (1, 2) for d in (3, 17) for p in range(40) for o in ("NER", "TCD")]
    path = counts_file(tmp_path, lines)
    from mobtrack.store.db import get_engine

    stored = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        result = import_file(path, db_url=url)
        assert result.status == "imported"
        with get_engine(url).connect() as conn:
            stored.append([read_observations(conn, r.version_id) for r in result.rounds])
    for a, b in zip(*stored, strict=True):
        assert a.drop("id", strict=False).equals(b.drop("id", strict=False))
    # new sites are numbered in the order of the stored rows (by round, then point)
    assert stored[0][0]["location_id"].unique(maintain_order=True).is_sorted()
