"""Bulk writes (COPY on PostgreSQL, executemany on SQLite) store exactly what SQLAlchemy's own inserts do."""

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import insert, select

from mobtrack.store import rounds
from mobtrack.store.bulk import insert_returning_ids, insert_rows
from mobtrack.store.schema import block, round_, round_version, source_file


def _round(conn) -> tuple[int, int]:
    fid = conn.execute(insert(source_file).values(name="f.csv", sha256="0" * 64, size=1, format="csv",
                                                  imported_at=datetime.now(UTC)).returning(source_file.c.id)).scalar_one()
    op = rounds.operation_id(conn, "Op", "NGA")
    return fid, rounds.round_id(conn, op, "BA", 1)


def test_ids_come_back_in_order_and_values_as_sqlalchemy_binds_them(engine):
    with engine.begin() as conn:
        fid, rid = _round(conn)
        rows = [{"round_id": rid, "version": n, "source_file_id": fid, "content_hash": f"{n:064d}",
                 "reporting_date": date(2024, 1, n), "period_start": None, "period_end": date(2024, 2, 1),
                 "observations": 10 * n, "created_at": datetime(2024, 3, 1, tzinfo=UTC), "levels": [0, n]}
                for n in (1, 2, 3)]
        ids = insert_returning_ids(conn, round_version, rows)
        assert len(set(ids)) == 3 and insert_returning_ids(conn, round_version, []) == []
        stored = {r.id: r for r in conn.execute(select(round_version)).all()}
        for vid, row in zip(ids, rows, strict=True):
            got = stored[vid]
            assert (got.version, got.reporting_date, got.period_start, got.observations, got.levels) == (
                row["version"], row["reporting_date"], None, row["observations"], row["levels"])
        # the sequence moved on: a plain insert after the bulk one gets a new id
        nxt = conn.execute(insert(round_version).values(**{**rows[0], "version": 9}).returning(round_version.c.id)).scalar_one()
        assert nxt not in ids


def test_rows_with_binary_payloads_and_nulls(engine):
    with engine.begin() as conn:
        fid, rid = _round(conn)
        [vid] = insert_returning_ids(conn, round_version, [
            {"round_id": rid, "version": 1, "source_file_id": fid, "content_hash": "a" * 64, "observations": 0,
             "created_at": datetime.now(UTC), "levels": []}])
        payloads = [bytes(range(256)) * 3, b"\x00\\N\t\n\r,\"'"]  # bytes COPY text format must escape
        insert_rows(conn, block, ["round_version_id", "kind", "seq", "rows", "payload"],
                    [(vid, "observations", i, len(p), p) for i, p in enumerate(payloads)])
        insert_rows(conn, block, ["round_version_id", "kind", "seq", "rows", "payload"], [])
        got = conn.execute(select(block.c.payload).where(block.c.round_version_id == vid).order_by(block.c.seq)).scalars()
        assert [bytes(p) for p in got] == payloads
        assert conn.execute(select(round_.c.id)).scalars().all() == [rid]


def test_written_versions_read_back_identical(engine):
    obs = pl.DataFrame({"location_id": [3, None, 1, 3], "admin_level": [2, None, 1, 2], "value": [5, 6, None, 8]})
    with engine.begin() as conn:
        fid, rid = _round(conn)
        meta = rounds.RoundMeta(date(2024, 1, 31), date(2024, 1, 1), date(2024, 1, 31))
        [(vid, number)] = rounds.write_versions(conn, fid, [rounds.NewVersion(rid, obs, obs.head(1), meta, "d" * 64, None)])
        assert number == 1
        assert conn.execute(select(round_version.c.levels).where(round_version.c.id == vid)).scalar_one() == [1, 2]
        assert conn.execute(select(round_.c.current_version_id).where(round_.c.id == rid)).scalar_one() == vid
        back = rounds.read_blocks(conn, vid, "observations")
        # sorted by location, nulls last, ties in their order
        assert back.equals(obs.sort("location_id", nulls_last=True, maintain_order=True))
        assert rounds.read_blocks(conn, vid, "figures").equals(obs.head(1))


def test_bulk_rows_are_stored_as_sqlalchemy_stores_them(engine):
    # what the driver holds, not what SQLAlchemy reads back: dates, times and JSON in the same form
    with engine.begin() as conn:
        fid, rid = _round(conn)
        row = {"round_id": rid, "version": 1, "source_file_id": fid, "content_hash": "c" * 64,
               "reporting_date": date(2024, 1, 31), "period_start": None, "period_end": date(2024, 2, 1),
               "observations": 3, "created_at": datetime(2024, 3, 1, 12, 30, 5, 123456, tzinfo=UTC), "levels": [1, 2]}
        [bulk] = insert_returning_ids(conn, round_version, [row])
        plain = conn.execute(insert(round_version).values(**{**row, "version": 2}).returning(round_version.c.id)).scalar_one()
        raw = "SELECT reporting_date, period_start, period_end, created_at, levels, observations FROM round_version WHERE id = "
        assert conn.exec_driver_sql(raw + str(bulk)).one() == conn.exec_driver_sql(raw + str(plain)).one()
        assert plain == bulk + 1


def test_bulk_rows_get_the_columns_python_defaults(engine):
    with engine.begin() as conn:
        op = rounds.operation_id(conn, "Op", "NGA")
        [rid] = insert_returning_ids(conn, round_, [{"operation_id": op, "assessment_type": "BA", "number": 7}])
        assert conn.execute(select(round_.c.status).where(round_.c.id == rid)).scalar_one() == "draft"
