"""Writing and reading rounds: operations, rounds, versions and their blocks.

Library-first: the CLI, the web and the tests all call these functions with a Connection that
belongs to the caller's transaction, so an import is one transaction end to end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl
from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from mobtrack.store import block_writer, blocks
from mobtrack.store.bulk import insert_returning_ids, insert_rows
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


HASHED_COLUMNS = [c for c in blocks.OBSERVATION_COLUMNS if not c.startswith("source_")]


def row_hashes(observations: pl.DataFrame) -> pl.Series:
    """Per-row hashes of what a value says (provenance left out): a row's hash depends on that row only,
    so the hashes of a batch of rounds can be computed at once and sliced per round."""
    return observations.select(HASHED_COLUMNS).hash_rows(seed=17)


def content_hash(observations: pl.DataFrame, meta: RoundMeta, hashes: pl.Series | None = None) -> str:
    """A digest of what the round says (its values and its dates), independent of row order and of
    which file said it. `hashes`: the rows' `row_hashes`, when already computed."""
    hashes = row_hashes(observations) if hashes is None else hashes
    return digest_of(hashes.sort().to_numpy(), meta)


def digest_of(sorted_hashes: np.ndarray, meta: RoundMeta) -> str:
    """`content_hash` from the round's row hashes, sorted."""
    digest = hashlib.sha256(sorted_hashes.tobytes())
    digest.update(",".join(HASHED_COLUMNS).encode())
    digest.update(f"|{meta.reporting_date}|{meta.period_start}|{meta.period_end}".encode())
    return digest.hexdigest()


def round_ids(conn: Connection, wanted: list[tuple[int, str, int]]) -> dict[tuple[int, str, int], int]:
    """Ids of rounds (operation id, assessment type, number), creating those that do not exist: one
    query for the rounds of the operations involved, one insert for the new ones."""
    ops = sorted({op for op, _, _ in wanted})
    found = {(r.operation_id, r.assessment_type, r.number): r.id for r in conn.execute(
        select(round_.c.id, round_.c.operation_id, round_.c.assessment_type, round_.c.number)
        .where(round_.c.operation_id.in_(ops)))}
    new = list(dict.fromkeys(k for k in wanted if k not in found))
    if new:
        ids = insert_returning_ids(conn, round_, [
            {"operation_id": op, "assessment_type": t, "number": n, "status": "draft"} for op, t, n in new])
        found.update(zip(new, ids, strict=True))
    return {k: found[k] for k in wanted}


def current_versions(conn: Connection, rids: list[int]) -> dict[int, object]:
    """round id -> its current version row, for the rounds that have one."""
    rows = conn.execute(select(round_version).join(round_, round_.c.current_version_id == round_version.c.id)
                        .where(round_.c.id.in_(rids))).all()
    return {r.round_id: r for r in rows}


@dataclass
class NewVersion:
    round_id: int
    observations: pl.DataFrame
    figures: pl.DataFrame
    meta: RoundMeta
    digest: str
    previous_id: int | None  # the version it supersedes


@dataclass
class PreparedBlocks:
    """A version's blocks, (kind, seq, rows, payload or its encoding under way), and its admin levels."""

    parts: list[tuple[str, int, int, bytes | block_writer.EncodedBlock]]
    levels: list[int]


def prepare_blocks(conn: Connection, versions: list[NewVersion]) -> list[PreparedBlocks]:
    """The blocks of versions about to be written. With a background writer on `conn` (an import) their
    encoding starts now, so it overlaps what the caller does before `write_versions` (the round
    rules); otherwise they are encoded in place."""
    if not versions:
        return []
    sorted_observations, levels = _sorted_by_location(versions)
    layout = []  # per version: its blocks' (kind, seq, frame)
    for v, ordered in zip(versions, sorted_observations, strict=True):
        layout.append([("observations", seq, part) for seq, part in enumerate(blocks.split(ordered))]
                      + [("figures", 0, v.figures)])
    frames = [frame for parts in layout for _, _, frame in parts]
    writer = block_writer.writer_of(conn)
    payloads = iter([blocks.encode(f) for f in frames] if writer is None else writer.encode_all(frames))
    return [PreparedBlocks([(kind, seq, frame.height, next(payloads)) for kind, seq, frame in parts], lv)
            for parts, lv in zip(layout, levels, strict=True)]


def write_versions(conn: Connection, source_file_id: int, versions: list[NewVersion],
                   prepared: list[PreparedBlocks] | None = None) -> list[tuple[int, int]]:
    """Store new versions of several rounds and make each current (the previous ones stay readable), with
    one statement per table rather than several per round. Returns each version's id and number.
    `prepared`: the versions' `prepare_blocks`, when the caller started encoding them earlier."""
    if not versions:
        return []
    rids = [v.round_id for v in versions]
    if len(set(rids)) != len(rids):
        raise ValueError("write_versions: one new version per round and call")
    last = dict(conn.execute(select(round_version.c.round_id, func.max(round_version.c.version))
                             .where(round_version.c.round_id.in_(rids)).group_by(round_version.c.round_id)).all())
    stamp = now()
    numbers = [(last.get(v.round_id) or 0) + 1 for v in versions]
    prepared = prepare_blocks(conn, versions) if prepared is None else prepared
    vids = insert_returning_ids(conn, round_version, [
        {"round_id": v.round_id, "version": number, "source_file_id": source_file_id, "content_hash": v.digest,
         "reporting_date": v.meta.reporting_date, "period_start": v.meta.period_start, "period_end": v.meta.period_end,
         "observations": v.observations.height, "created_at": stamp, "levels": p.levels}
        for v, number, p in zip(versions, numbers, prepared, strict=True)])
    parts = [(vid, *part) for vid, p in zip(vids, prepared, strict=True) for part in p.parts]
    writer = block_writer.writer_of(conn)
    if writer is None:
        insert_rows(conn, block, block_writer.BLOCK_COLUMNS, parts)
    else:  # the previous batch's blocks (encoded meanwhile) go in now, this batch's are encoded meanwhile
        writer.flush(conn)
        for part in parts:
            writer.add(*part)
    superseded = [v.previous_id for v in versions if v.previous_id is not None]
    if superseded:
        conn.execute(update(round_version).where(round_version.c.id.in_(superseded)).values(superseded_at=stamp))
    _make_current(conn, list(zip(rids, vids, strict=True)))
    return list(zip(vids, numbers, strict=True))


def _make_current(conn: Connection, pairs: list[tuple[int, int]]) -> None:
    """Point each round (id) at its new version (id). A corrected file puts a published round back to
    draft: it must be validated and published again."""
    if conn.dialect.name != "postgresql":  # SQLite: an executemany stays in the process
        conn.execute(update(round_).where(round_.c.id == bindparam("rid")).values(
            current_version_id=bindparam("vid"), status="draft", published_at=None),
            [{"rid": rid, "vid": vid} for rid, vid in pairs])
        return
    # One statement with the ids as two array parameters: a VALUES list of one pair per round made
    # SQLAlchemy compile and bind two parameters per round (30 ms for the 446 rounds of a
    # flow-monitoring file, more than the server took to run it).
    conn.exec_driver_sql(
        "UPDATE round SET current_version_id = new.vid, status = 'draft', published_at = NULL "
        "FROM unnest(%(rids)s::integer[], %(vids)s::integer[]) AS new(rid, vid) WHERE round.id = new.rid",
        {"rids": [rid for rid, _ in pairs], "vids": [vid for _, vid in pairs]})


def _sorted_by_location(versions: list[NewVersion]) -> tuple[list[pl.DataFrame], list[list[int]]]:
    """Each version's observations sorted by location (nulls last, ties in their order), and the admin
    levels it has. Done for all versions at once: a Polars call costs ~0.1 ms whatever its size, and a
    batch may hold hundreds of rounds of a few dozen values (a flow-monitoring file)."""
    frames = [v.observations for v in versions]
    try:
        together = pl.concat(frames, how="vertical", rechunk=False)
    except (pl.exceptions.SchemaError, pl.exceptions.ShapeError):  # not the same columns: each on its own
        return ([f.sort("location_id", nulls_last=True, maintain_order=True) for f in frames],
                [sorted(int(x) for x in f["admin_level"].drop_nulls().unique().to_list()) for f in frames])
    sizes = [f.height for f in frames]
    position = pl.Series("_v", np.repeat(np.arange(len(frames), dtype=np.uint32), sizes))
    keyed = together.select(position, "location_id", "admin_level")
    order = keyed.select(pl.arg_sort_by(["_v", "location_id"], nulls_last=True, maintain_order=True)).to_series()
    present = keyed.select("_v", "admin_level").drop_nulls().unique().sort("_v", "admin_level")
    levels: list[list[int]] = [[] for _ in frames]
    for pos, level in present.iter_rows():
        levels[pos].append(int(level))
    ordered = together[order]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return [ordered.slice(int(start), n) for start, n in zip(starts, sizes, strict=False)], levels


def current_version(conn: Connection, rid: int):
    return conn.execute(
        select(round_version).join(round_, round_.c.current_version_id == round_version.c.id).where(round_.c.id == rid)
    ).first()


def write_version(conn: Connection, rid: int, source_file_id: int, observations: pl.DataFrame,
                  figures: pl.DataFrame, meta: RoundMeta, digest: str) -> tuple[int, int]:
    """Store a new version of a round and make it current; the previous version stays readable.
    Returns the version's id and number."""
    previous = current_version(conn, rid)
    [written] = write_versions(conn, source_file_id, [NewVersion(rid, observations, figures, meta, digest,
                                                                 None if previous is None else previous.id)])
    return written


def read_blocks(conn: Connection, version_id: int, kind: str, columns: list[str] | None = None) -> pl.DataFrame:
    block_writer.flush(conn)  # blocks still being encoded in the background are part of the store
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
