"""Rounds finalised in batches give exactly what finalising them one by one gives.

The same file is imported twice into one database under two operation names: once with a batch of
one row (so every round is finalised on its own), once with the default batch (all rounds at once).
Everything stored and reported must agree, round by round.
"""

from datetime import date

import polars as pl
from sqlalchemy import select

from mobtrack.ingest import ImportOptions
from mobtrack.pipeline import import_file
from mobtrack.store import rounds
from mobtrack.store.schema import issue, operation, round_, round_version

COLUMNS = ["operation", "country_iso3", "assessment_type", "round_number", "reporting_date", "admin_level",
           "adm1_pcode", "adm2_pcode", "population_group", "unit", "role", "sex", "reason", "value"]
PLACES = [("SO11", "SO1101"), ("SO11", "SO1102"), ("SO12", "SO1201")]


def _round(atype, number, values, month=None, breakdown_off=None, duplicate=False, parts=False):
    out = []
    for (a1, a2), v in zip(PLACES, values, strict=True):
        base = dict(operation="placeholder", country_iso3="SOM", assessment_type=atype, round_number=number,
                    reporting_date=date(2024, month or number, 28), admin_level=2, adm1_pcode=a1, adm2_pcode=a2,
                    population_group="idps", unit="individuals", sex=None, reason=None)
        out.append({**base, "role": "total", "value": str(v)})
        female = v - v // 2 + (breakdown_off if breakdown_off and a2 == "SO1102" else 0)
        out.append({**base, "role": "breakdown", "sex": "female", "value": str(female)})
        out.append({**base, "role": "breakdown", "sex": "male", "value": str(v // 2)})
        if parts:  # the total split by reason, one part short at the last place
            out.append({**base, "role": "part", "reason": "conflict", "value": str(v // 3)})
            out.append({**base, "role": "part", "reason": "other",
                        "value": str(v - v // 3 - (1 if a2 == "SO1201" else 0))})
    if duplicate:  # the same cell again with another count
        out.append({**out[0], "value": str(int(out[0]["value"]) + 1)})
    return out


def scenario() -> pl.DataFrame:
    data = (_round("BA", 1, (1000, 500, 70))
            + _round("BA", 2, (1100, 520, 75), duplicate=True)
            + _round("SA", 2, (1100, 520, 75), month=2)  # the same round under another type: an error
            + _round("BA", 3, (9000, 510, 80))  # an outlier against round 2
            + _round("BA", 5, (1200, 530, 90), breakdown_off=7, parts=True)
            + _round("BA", 4, (1150, 525, 85)))  # out of order: round 5 came first
    schema = {c: (pl.Int64 if c in {"round_number", "admin_level"} else pl.Date if c == "reporting_date"
                  else pl.String) for c in COLUMNS}
    return pl.DataFrame(data, schema=schema)


def stored(engine, name):
    """Per (type, round): content hash, figures, observations, status, and the issues stored for it."""
    out = {}
    with engine.connect() as conn:
        found = conn.execute(
            select(round_.c.assessment_type, round_.c.number, round_.c.status, round_version.c.id,
                   round_version.c.version, round_version.c.content_hash)
            .join(operation, operation.c.id == round_.c.operation_id)
            .join(round_version, round_version.c.round_id == round_.c.id)
            .where(operation.c.name == name)).all()
        for atype, number, status, vid, version, digest in found:
            issues = sorted(conn.execute(select(issue.c.rule, issue.c.severity, issue.c.row, issue.c.column,
                                                issue.c.value, issue.c.message)
                                         .where(issue.c.round_version_id == vid)).all())
            out[(atype, number, version)] = {
                "status": status, "hash": digest, "issues": issues,
                "figures": rounds.read_figures(conn, vid).drop("location_id").sort(pl.all()).rows(),
                "observations": rounds.read_observations(conn, vid).drop("source_file_id", "source_sheet")
                .sort("source_row", "population_group", "role", "sex", "reason").rows(),
            }
    return out


def _import(path, name, one_by_one, db_url):
    options = ImportOptions(operation=name, batch_rows=1 if one_by_one else 250_000)
    result = import_file(path, options=options, db_url=db_url)
    assert result.status == "imported", result.message
    return result


def _report(result):
    return ([(r.assessment_type, r.round_number, r.status, r.version, r.round_status, r.observations)
             for r in result.rounds],
            sorted((i.rule, str(i.severity), i.row, i.column, i.value, i.message) for i in result.issues))


def test_batches_store_and_report_what_rounds_one_by_one_do(tmp_path, db_url, engine):
    path = tmp_path / "rounds.csv"
    scenario().write_csv(path)
    single = _import(path, "One by one", True, db_url)
    batched = _import(path, "Batched", False, db_url)
    assert _report(single) == _report(batched)
    rules = {i.rule for i in batched.issues}
    assert {"conflicting-duplicate", "round-repeated-across-types", "round-over-round-outlier",
            "breakdown-sum-mismatch", "parts-sum-mismatch"} <= rules, rules
    assert stored(engine, "One by one") == stored(engine, "Batched")

    # a corrected file: round 3 fixed, the rest unchanged -> one new version, merged and compared per round
    fixed = scenario().with_columns(pl.when((pl.col("round_number") == 3) & (pl.col("value") == "9000"))
                                    .then(pl.lit("1120")).otherwise(pl.col("value")).alias("value"))
    fixed.write_csv(path)
    again_single = _import(path, "One by one", True, db_url)
    again_batched = _import(path, "Batched", False, db_url)
    assert _report(again_single) == _report(again_batched)
    assert [(r.round_number, r.status) for r in again_batched.rounds if r.status == "imported"] == [(3, "imported")]
    assert stored(engine, "One by one") == stored(engine, "Batched")


def test_batch_digests_equal_a_round_hashed_alone(tmp_path, db_url, engine):
    """The batch hashes all rounds' rows at once: each round's digest must be what content_hash gives
    for that round alone, or a re-import of unchanged content would look like a change."""
    path = tmp_path / "rounds.csv"
    scenario().write_csv(path)
    _import(path, "Hashed", False, db_url)
    with engine.connect() as conn:
        versions = conn.execute(select(round_version)).all()
        assert versions
        for v in versions:
            meta = rounds.RoundMeta(v.reporting_date, v.period_start, v.period_end)
            assert rounds.content_hash(rounds.read_observations(conn, v.id), meta) == v.content_hash
