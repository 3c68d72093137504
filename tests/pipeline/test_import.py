"""An import lands whole or not at all, importing the same content changes nothing, corrections make versions."""

import hashlib
from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select, text

from mobtrack.analytics import RoundFilter, figures
from mobtrack.ingest import ImportOptions
from mobtrack.pipeline import import_file
from mobtrack.store.schema import block, issue, round_, round_version, source_file

COLUMNS = ["operation", "country_iso3", "assessment_type", "round_number", "reporting_date", "admin_level",
           "adm1_pcode", "adm2_pcode", "adm2_name", "population_group", "unit", "role", "sex", "value"]


def rows(round_number=1, values=(100, 50, 7), **extra):
    """Three Somalia districts (two in Awdal, one in Woqooyi Galbeed), IDPs, plus a sex breakdown."""
    places = [("SO11", "SO1101", "Borama"), ("SO11", "SO1102", "Baki"), ("SO12", "SO1201", "Hargeysa")]
    out = []
    for (a1, a2, name), v in zip(places, values, strict=True):
        base = dict(operation="Synthetic test operation", country_iso3="SOM", assessment_type="BA",
                    round_number=round_number, reporting_date=date(2024, round_number, 28), admin_level=2,
                    adm1_pcode=a1, adm2_pcode=a2, adm2_name=name, population_group="idps", unit="individuals")
        out.append({**base, "role": "total", "sex": None, "value": str(v)})
        if isinstance(v, int):
            out.append({**base, "role": "breakdown", "sex": "female", "value": str(v - v // 2)})
            out.append({**base, "role": "breakdown", "sex": "male", "value": str(v // 2)})
    frame = pl.DataFrame(out, schema={c: (pl.Int64 if c in {"round_number", "admin_level"} else
                                          pl.Date if c == "reporting_date" else pl.String) for c in COLUMNS})
    return frame.with_columns(**{k: pl.lit(v) for k, v in extra.items()})


def write(tmp_path, frame, name="round.csv"):
    path = tmp_path / name
    frame.write_csv(path)
    return path


def snapshot(engine):
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (round_, round_version, block, issue)}


def admin1(db_url, engine, **kw):
    with engine.connect() as conn:
        frame = figures(conn, RoundFilter(country_iso3="SOM", **kw), level=1)
    return dict(zip(frame["pcode"].to_list(), frame["value"].to_list(), strict=True))


def test_a_round_imports_and_rolls_up(tmp_path, db_url, engine):
    result = import_file(write(tmp_path, rows()), db_url=db_url)
    assert result.status == "imported", result.message
    assert [(r.round_number, r.status) for r in result.rounds] == [(1, "imported")]
    assert result.observations == 9
    assert admin1(db_url, engine) == {"SO11": 150, "SO12": 7}
    with engine.connect() as conn:
        assert figures(conn, RoundFilter(country_iso3="SOM"), level=0)["value"].to_list() == [157]


def test_the_source_file_is_recorded_with_its_digest_and_size(tmp_path, db_url, engine):
    # the digest is computed in a thread while the file is read, and written before the import ends
    path = write(tmp_path, rows())
    assert import_file(path, db_url=db_url).status == "imported"
    with engine.connect() as conn:
        stored = conn.execute(select(source_file.c.name, source_file.c.sha256, source_file.c.size)).one()
    assert tuple(stored) == (path.name, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)


def test_the_same_content_again_changes_nothing(tmp_path, db_url, engine):
    path = write(tmp_path, rows())
    assert import_file(path, db_url=db_url).status == "imported"
    before = snapshot(engine)
    again = import_file(path, db_url=db_url)
    assert again.status == "unchanged"
    # ... even from another file, with the rows in another order
    shuffled = write(tmp_path, rows().reverse(), "shuffled.csv")
    assert import_file(shuffled, db_url=db_url).status == "unchanged"
    assert snapshot(engine) == before


def test_a_corrected_file_makes_a_new_version_and_keeps_the_old(tmp_path, db_url, engine):
    import_file(write(tmp_path, rows()), db_url=db_url)
    corrected = import_file(write(tmp_path, rows(values=(100, 60, 7)), "corrected.csv"), db_url=db_url)
    assert corrected.status == "imported"
    assert corrected.rounds[0].version == 2
    assert admin1(db_url, engine) == {"SO11": 160, "SO12": 7}
    with engine.connect() as conn:
        versions = conn.execute(select(round_version.c.version, round_version.c.superseded_at)
                                .order_by(round_version.c.version)).all()
    assert [v for v, _ in versions] == [1, 2]
    assert versions[0].superseded_at is not None and versions[1].superseded_at is None


def test_a_refused_file_leaves_the_database_unchanged(tmp_path, db_url, engine):
    import_file(write(tmp_path, rows()), db_url=db_url)
    before = snapshot(engine)
    # round 2 is fine, but a row of round 3 has no operation: the file is refused as a whole
    bad = pl.concat([rows(2), rows(3).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("operation")).alias("operation"))])
    result = import_file(write(tmp_path, bad, "bad.csv"), db_url=db_url)
    assert result.status == "rejected"
    assert "no operation" in result.message and "--operation" in result.message
    assert snapshot(engine) == before


def test_unreadable_counts_are_reported_and_not_counted_as_zero(tmp_path, db_url, engine):
    result = import_file(write(tmp_path, rows(values=(100, "Not available", 7))), db_url=db_url)
    assert result.status == "imported"
    placeholder = [i for i in result.issues if i.row == 5]
    assert placeholder and placeholder[0].column == "value" and placeholder[0].value == "Not available"
    with engine.connect() as conn:
        frame = figures(conn, RoundFilter(country_iso3="SOM"), level=1)
    awdal = frame.filter(pl.col("pcode") == "SO11")
    assert awdal["missing"].item() == 1


def test_options_fill_what_the_file_does_not_say(tmp_path, db_url, engine):
    frame = rows().drop("operation", "round_number")
    result = import_file(write(tmp_path, frame), ImportOptions(operation="Named on the command line", round_number=4),
                         db_url=db_url)
    assert result.status == "imported", result.message
    assert [(r.operation, r.round_number) for r in result.rounds] == [("Named on the command line", 4)]


def test_a_file_not_grouped_by_round_still_imports_each_round_whole(tmp_path, db_url, engine):
    interleaved = pl.concat([rows(1), rows(2, values=(1, 2, 3))]).sort("adm2_pcode")
    path = write(tmp_path, interleaved)
    result = import_file(path, ImportOptions(batch_rows=4), db_url=db_url)
    assert sorted((r.round_number, r.observations) for r in result.rounds) == [(1, 9), (2, 9)]
    assert admin1(db_url, engine, round_number=2) == {"SO11": 3, "SO12": 3}


def test_levels_from_separate_files_build_one_round(tmp_path, db_url, engine):
    districts = rows()
    regions = districts.filter(pl.col("role") == "total").group_by("adm1_pcode").agg(pl.col("value").cast(
        pl.Int64).sum().cast(pl.String)).with_columns(
        operation=pl.lit("Synthetic test operation"), country_iso3=pl.lit("SOM"), assessment_type=pl.lit("BA"),
        round_number=pl.lit(1), reporting_date=pl.lit(date(2024, 1, 28)), admin_level=pl.lit(1),
        population_group=pl.lit("idps"), unit=pl.lit("individuals"), role=pl.lit("total"))
    import_file(write(tmp_path, regions, "admin1.csv"), db_url=db_url)
    import_file(write(tmp_path, districts, "admin2.csv"), db_url=db_url)
    with engine.connect() as conn:
        frame = figures(conn, RoundFilter(country_iso3="SOM"), level=1)
        assert conn.execute(text("select count(*) from round_version")).scalar_one() == 2
    # computed from admin2, and the source's own admin1 figure agrees
    assert frame.select("pcode", "value", "source_value").rows() == [("SO11", 150, 150), ("SO12", 7, 7)]


def test_missing_file_is_a_clear_rejection(tmp_path, db_url):
    result = import_file(tmp_path / "nope.csv", db_url=db_url)
    assert result.status == "rejected" and "no such file" in result.message


@pytest.mark.parametrize("latest, expected_rounds", [(False, [1, 2]), (True, [2])])
def test_latest_keeps_only_each_operations_latest_round(tmp_path, db_url, engine, latest, expected_rounds):
    import_file(write(tmp_path, pl.concat([rows(1), rows(2)])), db_url=db_url)
    with engine.connect() as conn:
        frame = figures(conn, RoundFilter(country_iso3="SOM", latest=latest), level=0)
    assert frame["round"].to_list() == expected_rounds


def test_publishing_is_refused_while_errors_remain_and_allowed_after_a_fix(tmp_path, db_url, engine):
    from mobtrack.store.publishing import PublishError, publish

    bad = rows(values=(100, -5, 7))  # a negative count is an error
    result = import_file(write(tmp_path, bad), db_url=db_url)
    assert result.rounds[0].round_status == "draft"
    with engine.begin() as conn, pytest.raises(PublishError) as refused:
        publish(conn, "Synthetic test operation", 1)
    assert any(b["row"] is not None for b in refused.value.blocking)
    fixed = import_file(write(tmp_path, rows(), "fixed.csv"), db_url=db_url)
    assert fixed.rounds[0].round_status == "validated"
    with engine.begin() as conn:
        assert publish(conn, "Synthetic test operation", 1)["changed"] is True
    with engine.connect() as conn:
        assert figures(conn, RoundFilter(country_iso3="SOM", published_only=True), level=0)["value"].to_list() == [157]


def test_a_review_decision_puts_the_held_back_rows_on_the_map(tmp_path, db_url, engine):
    from mobtrack.rework import decide_and_apply
    from mobtrack.store.publishing import blocking_issues
    from mobtrack.store.schema import match_review

    doubtful = rows().with_columns(
        pl.when(pl.col("adm2_pcode") == "SO1201").then(None).otherwise(pl.col("adm2_pcode")).alias("adm2_pcode"),
        pl.when(pl.col("adm2_pcode") == "SO1201").then(pl.lit("Harg.")).otherwise(pl.col("adm2_name")).alias(
            "adm2_name"))
    result = import_file(write(tmp_path, doubtful), db_url=db_url)
    assert result.rounds[0].round_status == "draft"
    assert admin1(db_url, engine) == {"SO11": 150}  # Hargeysa's 7 people are held back, not guessed
    with engine.begin() as conn:
        review_id = conn.execute(select(match_review.c.id).where(match_review.c.status == "open")).scalar_one()
        outcome = decide_and_apply(conn, review_id, "SO1201", decided_by="test")
    assert outcome["status"] == "accepted" and outcome["rounds"][0]["status"] == "validated"
    assert admin1(db_url, engine) == {"SO11": 150, "SO12": 7}
    with engine.connect() as conn:
        assert blocking_issues(conn, outcome["rounds"][0]["round_version"]) == []
    # the decision is remembered: the same file again is placed without asking
    again = import_file(write(tmp_path, doubtful, "again.csv"), db_url=db_url)
    assert again.status == "unchanged"


def test_the_same_round_under_two_assessment_types_is_an_error(tmp_path, db_url, engine):
    import_file(write(tmp_path, rows()), db_url=db_url)
    twin = import_file(write(tmp_path, rows(assessment_type="SA"), "sa.csv"), db_url=db_url)
    assert "round-repeated-across-types" in {i.rule for i in twin.issues}
    assert twin.rounds[0].round_status == "draft"


def test_validation_settings_come_from_a_rules_file(tmp_path, db_url):
    from typer.testing import CliRunner

    from mobtrack.cli import app

    (tmp_path / "rules.yaml").write_text("disabled_rules: [negative-count]\n")
    path = write(tmp_path, rows(values=(100, -5, 7)))
    runner = CliRunner()
    strict = runner.invoke(app, ["validate", str(path), "--db", db_url, "--json"])
    relaxed = runner.invoke(app, ["validate", str(path), "--db", db_url, "--json", "--rules",
                                  str(tmp_path / "rules.yaml")])
    assert "negative-count" in strict.stdout and "negative-count" not in relaxed.stdout
    bad = runner.invoke(app, ["validate", str(path), "--db", db_url, "--rules", str(tmp_path / "nope.yaml")])
    assert bad.exit_code == 2


def test_a_corrected_reporting_date_is_a_change(tmp_path, db_url, engine):
    import_file(write(tmp_path, rows()), db_url=db_url)
    moved = rows().with_columns(pl.lit(date(2024, 2, 1)).alias("reporting_date"))
    result = import_file(write(tmp_path, moved, "moved.csv"), db_url=db_url)
    assert (result.status, result.rounds[0].version, result.rounds[0].reporting_date) == ("imported", 2, "2024-02-01")
