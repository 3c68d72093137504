"""Writing and reading rounds: operations, rounds, versions and their blocks.

Library-first: the CLI, the web and the tests all call these functions with a Connection that
belongs to the caller's transaction, so an import is one transaction end to end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import Connection, and_, func, insert, select, update

from mobtrack.store import blocks
from mobtrack.store.schema import block, operation, round_, round_version


def now() -> datetime:
    return datetime.now(UTC)


def operation_id(conn: Connection, name: str, country_iso3: str) -> int:
    found = conn.execute(select(operation.c.id).where(operation.c.name == name)).scalar()
    if found is not None:
        return found
    return conn.execute(
        insert(operation).values(name=name, country_iso3=country_iso3, status="active").returning(operation.c.id)
    ).scalar_one()


def round_id(conn: Connection, op_id: int, assessment_type: str, number: int) -> int:
    found = conn.execute(
        select(round_.c.id).where(and_(round_.c.operation_id == op_id, round_.c.assessment_type == assessment_type,
                                       round_.c.number == number))
    ).scalar()
    if found is not None:
        return found
    return conn.execute(
        insert(round_).values(operation_id=op_id, assessment_type=assessment_type, number=number, status="draft")
        .returning(round_.c.id)
    ).scalar_one()


@dataclass
class RoundMeta:
    reporting_date: date | None
    period_start: date | None
    period_end: date | None


def content_hash(observations: pl.DataFrame, meta: RoundMeta) -> str:
    """A digest of what the round says (its values and its dates), independent of row order and of
    which file said it."""
    keyed = observations.select([c for c in blocks.OBSERVATION_COLUMNS if not c.startswith("source_")])
    row_hashes = keyed.hash_rows(seed=17).sort()
    digest = hashlib.sha256(row_hashes.to_numpy().tobytes())
    digest.update(",".join(keyed.columns).encode())
    digest.update(f"|{meta.reporting_date}|{meta.period_start}|{meta.period_end}".encode())
    return digest.hexdigest()




def current_version(conn: Connection, rid: int):
    return conn.execute(
        select(round_version).join(round_, round_.c.current_version_id == round_version.c.id).where(round_.c.id == rid)
    ).first()


def write_version(conn: Connection, rid: int, source_file_id: int, observations: pl.DataFrame,
                  figures: pl.DataFrame, meta: RoundMeta, digest: str) -> tuple[int, int]:
    """Store a new version of a round and make it current; the previous version stays readable.
    Returns the version's id and number."""
    previous = current_version(conn, rid)
    number = conn.execute(select(func.coalesce(func.max(round_version.c.version), 0)).where(
        round_version.c.round_id == rid)).scalar_one() + 1
    levels = sorted(int(x) for x in observations["admin_level"].drop_nulls().unique().to_list())
    vid = conn.execute(insert(round_version).values(
        round_id=rid, version=number, source_file_id=source_file_id, content_hash=digest,
        reporting_date=meta.reporting_date, period_start=meta.period_start, period_end=meta.period_end,
        observations=observations.height, levels=levels, created_at=now(),
    ).returning(round_version.c.id)).scalar_one()
    ordered = observations.sort("location_id", nulls_last=True)
    rows = []
    for seq, part in enumerate(blocks.split(ordered)):
        rows.append({"round_version_id": vid, "kind": "observations", "seq": seq, "rows": part.height,
                     "payload": blocks.encode(part)})
    rows.append({"round_version_id": vid, "kind": "figures", "seq": 0, "rows": figures.height,
                 "payload": blocks.encode(figures)})
    conn.execute(insert(block), rows)
    if previous is not None:
        conn.execute(update(round_version).where(round_version.c.id == previous.id).values(superseded_at=now()))
    # A corrected file puts a published round back to draft: it must be validated and published again.
    conn.execute(update(round_).where(round_.c.id == rid).values(current_version_id=vid, status="draft",
                                                                  published_at=None))
    return vid, number


def read_blocks(conn: Connection, version_id: int, kind: str, columns: list[str] | None = None) -> pl.DataFrame:
    payloads = conn.execute(
        select(block.c.payload).where(and_(block.c.round_version_id == version_id, block.c.kind == kind))
        .order_by(block.c.seq)
    ).scalars().all()
    if not payloads:
        schema = blocks.FIGURE_SCHEMA if kind == "figures" else blocks.OBSERVATION_SCHEMA
        return pl.DataFrame(schema={k: v for k, v in schema.items() if columns is None or k in columns})
    return pl.concat([blocks.decode(p, columns) for p in payloads], how="vertical_relaxed")


def read_observations(conn: Connection, version_id: int, columns: list[str] | None = None) -> pl.DataFrame:
    return read_blocks(conn, version_id, "observations", columns)


def read_figures(conn: Connection, version_id: int) -> pl.DataFrame:
    return read_blocks(conn, version_id, "figures")
