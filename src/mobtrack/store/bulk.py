"""Inserting many rows in one round trip: COPY on PostgreSQL (psycopg 3), executemany elsewhere.

An import writes thousands of small rows (issues, blocks, places). Through SQLAlchemy's
executemany on PostgreSQL they become one huge multi-row INSERT whose parameters are processed
one by one in Python (0.4 s for the 4,200 issues of DTM's West and Central Africa export); COPY
streams them for a tenth of that. On SQLite the driver's own executemany is already in-process
and ~10x faster than going through SQLAlchemy (32k places of the bundled gazetteer).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, insert


def _copies(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def insert_rows(conn: Connection, table: Table, columns: list[str], rows: Iterable[tuple]) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`, inside `conn`'s transaction.

    Values go to the driver as they are (no SQLAlchemy type processing): JSON already serialised,
    and on SQLite dates as ISO text (see gazetteer.load)."""
    names = ", ".join(f'"{c}"' for c in columns)  # from our own schema, never from input
    if _copies(conn):
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


def insert_returning_ids(conn: Connection, table: Table, rows: list[dict]) -> list[int]:
    """Insert `rows` (dicts with the same keys, values as SQLAlchemy takes them) and return their new
    ids, in order. On PostgreSQL the ids are drawn from the table's sequence first and the rows
    copied with them: SQLAlchemy's INSERT .. RETURNING of many rows is one statement of thousands of
    parameters, which psycopg parses in Python (~0.3 ms a row); elsewhere it is that INSERT."""
    if not rows:
        return []
    if not _copies(conn):
        return list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    ids = list(conn.exec_driver_sql("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                                    (table.name, len(rows))).scalars())
    columns = list(rows[0])
    # the values as SQLAlchemy would bind them (a JSON column's list becomes JSON)
    binds = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]
    insert_rows(conn, table, ["id", *columns], (
        (i, *(row[c] if bind is None else bind(row[c]) for c, bind in zip(columns, binds, strict=True)))
        for i, row in zip(ids, rows, strict=True)))
    return ids
