"""Inserting many rows in one round trip: COPY on PostgreSQL (psycopg 3), executemany elsewhere.

An import writes thousands of small rows (issues, blocks, places). Through SQLAlchemy's
executemany on PostgreSQL they become one huge multi-row INSERT whose parameters are processed
one by one in Python (0.4 s for the 4,200 issues of DTM's West and Central Africa export); COPY
streams them for a tenth of that. On SQLite the driver's own executemany is already in-process
and ~10x faster than going through SQLAlchemy (32k places of the bundled gazetteer). A whole
Polars frame (the 300k-row UNHCR tables of mobtrack.stats) goes to COPY as CSV, written by Polars.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, Table, func, insert, select


def is_psycopg(conn: Connection) -> bool:
    """PostgreSQL through psycopg 3, whose COPY and pipelines the fast paths use."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def insert_rows(conn: Connection, table: Table, columns: list[str], rows: Iterable[tuple]) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`, inside `conn`'s transaction.

    Values go to the driver as they are (no SQLAlchemy type processing): JSON already serialised,
    and on SQLite dates as ISO text (see gazetteer.load)."""
    names = ", ".join(f'"{c}"' for c in columns)  # from our own schema, never from input
    if is_psycopg(conn):
        cursor = conn.connection.cursor()
        try:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    rows = list(rows)
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"  # sqlite3; psycopg2 and most others
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(mark for _ in columns)})"  # nosec B608
    if conn.dialect.name == "sqlite":  # straight to the driver: no per-row work in Python at all
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(statement, rows)
        finally:
            cursor.close()
    else:
        conn.exec_driver_sql(statement, rows)


def insert_frame(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Insert the columns of `frame` that `table` has, inside `conn`'s transaction (on PostgreSQL as
    CSV: an empty text is stored as NULL)."""
    if frame.is_empty():
        return
    columns = [c.name for c in table.columns if c.name in frame.columns]
    frame = frame.select(columns)
    if not is_psycopg(conn):
        insert_rows(conn, table, columns, frame.rows())
        return
    names = ", ".join(f'"{c}"' for c in columns)
    payload = frame.write_csv(include_header=False, null_value="").encode()
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN WITH (FORMAT csv)') as copy:
            for start in range(0, len(payload), 1 << 22):
                copy.write(payload[start:start + (1 << 22)])
    finally:
        cursor.close()


def insert_returning_ids(conn: Connection, table: Table, rows: list[dict]) -> list[int]:
    """Insert `rows` (dicts with the same keys, values as SQLAlchemy takes them) and return their new
    ids, in order. The ids are chosen first and the rows inserted with them in one batch: on PostgreSQL
    drawn from the table's sequence (SQLAlchemy's INSERT .. RETURNING of many rows is one statement of
    thousands of parameters, which psycopg parses in Python, ~0.3 ms a row); on SQLite the ones it
    would give itself, after the table's highest (its tables have no AUTOINCREMENT), as SQLAlchemy
    sends one INSERT .. RETURNING per row there to keep the ids in order (446 statements, ~30 ms, for
    the rounds of a flow-monitoring file). Elsewhere it is that INSERT."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        # inside the import's write transaction no other writer can take these ids meanwhile (one
        # that committed since this transaction's snapshot makes the insert fail, not collide)
        start = conn.execute(select(func.max(table.c.id))).scalar() or 0
        ids = list(range(start + 1, start + 1 + len(rows)))
    elif is_psycopg(conn):
        ids = list(conn.exec_driver_sql("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                                        "FROM generate_series(1, %s)", (table.name, len(rows))).scalars())
    else:
        return list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    # the columns' Python-side defaults, as SQLAlchemy's INSERT would fill them in
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in rows[0] and c.name != "id" and c.default is not None and c.default.is_scalar}
    columns = [*rows[0], *defaults]
    # the values as SQLAlchemy would bind them (a JSON column's list becomes JSON)
    binds = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]

    def values(row: dict) -> tuple:
        full = {**defaults, **row}
        return tuple(full[c] if bind is None else bind(full[c]) for c, bind in zip(columns, binds, strict=True))

    insert_rows(conn, table, ["id", *columns], ((i, *values(row)) for i, row in zip(ids, rows, strict=True)))
    return ids
