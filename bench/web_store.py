"""The store bench/web_api.py measures: built from bench/import_10m.py's generated data, optionally kept
under a name that says its shape so later runs reuse it, with every round published and an analyst
token made for each run."""

from __future__ import annotations

import os
import time
from pathlib import Path

from databases import fresh_database
from import_10m import generate, run


def build_store(args, folder: Path) -> tuple[str, int]:
    gaz, data, total = generate(folder, args.countries, args.rounds)
    db = fresh_database(args.db, folder)
    run(["init", "--db", db])
    run(["gazetteer", "load", str(gaz), "--db", db])
    run(["import", str(data), "--db", db, "--json"])
    data.unlink()  # hundreds of MB at full size; the store keeps what the bench needs
    return db, total


def stored_observations(db: str) -> int:
    from sqlalchemy import func, select

    from mobtrack.store.db import get_engine
    from mobtrack.store.schema import round_, round_version

    with get_engine(db).connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(round_version.c.observations), 0)).join(
            round_, round_.c.current_version_id == round_version.c.id)).scalar())


def kept_store(args, folder: Path) -> tuple[str, int]:
    """The store of this shape (--countries x --rounds), built once and kept for later runs.

    It is built under a temporary name and renamed only when the import has finished, so a store
    found under the kept name is always complete: SQLite `<--keep-dir>/mt_webbench_CxR.db`, or the
    PostgreSQL database `mt_webbench_CxR` on the server of --db.
    """
    name = f"mt_webbench_{args.countries}x{args.rounds}"
    if not args.db:
        path = Path(args.keep_dir) / f"{name}.db"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            built, _ = build_store(args, folder)
            source = Path(built.removeprefix("sqlite:///"))
            # the import ran in a child process that has exited, so its WAL is checkpointed; move
            # any leftovers with the file all the same
            for suffix in ("-wal", "-shm"):
                if Path(f"{source}{suffix}").exists():
                    os.replace(f"{source}{suffix}", f"{path}{suffix}")
            os.replace(source, path)
        db = f"sqlite:///{path}"
        return db, stored_observations(db)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from mobtrack.store.db import resolve_url

    server = make_url(resolve_url(args.db))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    if not exists:
        built, _ = build_store(args, folder)  # only child processes connected to it, and they have exited
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{make_url(built).database}" RENAME TO "{name}"'))
    admin.dispose()
    db = server.set(database=name).render_as_string(hide_password=False)
    return db, stored_observations(db)


def prepare(db: str) -> dict:
    """Publish every round (the public sees published ones) and make an analyst token."""
    from sqlalchemy import select

    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import PublishError, publish
    from mobtrack.store.schema import operation, round_
    from mobtrack.web.services import accounts

    with get_engine(db).begin() as conn:
        for name, number, kind in conn.execute(select(operation.c.name, round_.c.number, round_.c.assessment_type)
                                               .join(round_, round_.c.operation_id == operation.c.id)).all():
            try:
                publish(conn, name, number, kind)
            except PublishError:
                pass
        made = accounts.add_user(conn, f"bench-{os.getpid()}-{int(time.time())}", "violet anchor drizzle compass 42",
                                 "analyst", "Bench", countries=["*"])
        return {"token": accounts.create_token(conn, made.id, "bench")}


def middle_published_round(db: str, operation: str) -> int:
    """A round the public can see (rounds dated in the future stay blocked by the date rule)."""
    from sqlalchemy import select

    from mobtrack.store.db import get_engine
    from mobtrack.store.schema import operation as operation_table
    from mobtrack.store.schema import round_

    with get_engine(db).connect() as conn:
        numbers = sorted(conn.execute(select(round_.c.number).join(
            operation_table, operation_table.c.id == round_.c.operation_id).where(
            operation_table.c.name == operation, round_.c.status == "published")).scalars())
    if not numbers:
        raise SystemExit(f"no published round of {operation}")
    return numbers[len(numbers) // 2]
