"""Finalising rounds in batches: what the pipeline does with the rounds a file has moved past.

A batch is several whole rounds (at most about one adapter batch of rows, so memory stays bounded).
Each step runs once for the batch rather than once per round, because fixed per-round costs (a
dozen SQL statements, a hundred small Polars calls) dominate when rounds are small: a
flow-monitoring file has hundreds of monthly rounds of a few dozen values each.

1. identity: operation and round ids and the rounds' current versions, in a few queries;
2. duplicates settled and contents hashed for the whole batch (a row's hash depends on that row
   only); a round with a stored version is merged with it (a file replaces only the admin levels it
   has) and compared with it: the same content is `unchanged`;
3. figures rolled up for all changed rounds at once (grouped by round);
4. round rules on the whole batch, told what each round would have seen had the rounds been stored
   one by one: the previous round's figures (possibly those of a round earlier in the batch) and
   the totals of the rounds stored before it;
5. new versions and their blocks written with one statement per table.

The outcome is the same as finalising the rounds one at a time, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from mobtrack.analytics.rollup import rollup
from mobtrack.store import rounds
from mobtrack.store.blocks import OBSERVATION_COLUMNS
from mobtrack.store.places import hierarchy
from mobtrack.store.schema import round_
from mobtrack.validate import Issue, repeats

ROUND_KEY = ["operation", "country_iso3", "assessment_type", "round_number"]
POSITION = "_pos"  # a round's position in its batch


@dataclass
class PendingRound:
    key: tuple  # ROUND_KEY values
    meta: rounds.RoundMeta
    op_id: int
    round_id: int
    previous: Any  # its current stored version (a round_version row), or None
    observations: pl.DataFrame | None = None
    stored: pl.DataFrame | None = None  # the current version's observations, when there is one
    digest: str | None = None
    unchanged: bool = False
    figures: pl.DataFrame | None = None  # rolled up, for a changed round

    @property
    def series(self) -> tuple[int, str]:
        """The rounds this one follows: same operation and assessment type."""
        return self.op_id, self.key[2]

    @property
    def number(self) -> int:
        return int(self.key[3])


def tag_rounds(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The rounds one after the other, each row carrying its round's position."""
    return pl.concat([f.with_columns(pl.lit(i, dtype=pl.UInt32).alias(POSITION)) for i, f in enumerate(frames)],
                     how="vertical_relaxed")


def round_metas(batch: pl.DataFrame) -> list[rounds.RoundMeta]:
    """Per round: its reporting date (the most frequent one; the latest of equally frequent ones),
    the start and end of its period."""
    metas = batch.group_by(POSITION).agg(
        pl.col("reporting_date").drop_nulls().mode().sort().last().alias("reporting_date"),
        pl.col("period_start").min(), pl.col("period_end").max(),
    ).sort(POSITION)
    return [rounds.RoundMeta(*row) for row in metas.select("reporting_date", "period_start", "period_end").iter_rows()]


def identify(conn: Connection, keys: list[tuple], metas: list[rounds.RoundMeta],
             op_ids: dict[str, int]) -> list[PendingRound]:
    """Operation and round ids (created when new) and the current version of each round of the batch.
    `op_ids` caches operation ids for the file."""
    for name, country, _, _ in keys:
        if name not in op_ids:
            op_ids[name] = rounds.operation_id(conn, name, country)
    wanted = [(op_ids[k[0]], k[2], int(k[3])) for k in keys]
    rids = rounds.round_ids(conn, wanted)
    current = rounds.current_versions(conn, list(rids.values()))
    return [PendingRound(key, meta, w[0], rids[w], current.get(rids[w]))
            for key, meta, w in zip(keys, metas, wanted, strict=True)]


def merge_levels(stored: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """A file replaces a round's values at the admin levels it covers and keeps the others.

    DTM publishes a round's admin0, admin1 and admin2 figures as separate files: importing them one
    after the other builds up one round; a corrected admin2 file replaces only the admin2 values.
    """
    levels = new["admin_level"].unique().to_list()
    kept = stored.filter(~pl.col("admin_level").is_in(levels))
    return new if kept.is_empty() else pl.concat([kept.select(new.columns), new], how="vertical_relaxed")


def same_as(previous, stored: pl.DataFrame, digest: str, observations: pl.DataFrame, meta: rounds.RoundMeta) -> bool:
    """Whether the round's new content equals its current version (`stored` are that version's observations)."""
    if previous.content_hash == digest:
        return True
    if (previous.reporting_date, previous.period_start, previous.period_end) != (
            meta.reporting_date, meta.period_start, meta.period_end):
        return False
    # Row hashes can change with a Polars upgrade; the stored content is the truth.
    if stored.height != observations.height:
        return False
    columns = [c for c in observations.columns if not c.startswith("source_")]
    return stored.select(columns).sort(columns, nulls_last=True).equals(
        observations.select(columns).sort(columns, nulls_last=True))


def settle(conn: Connection, batch: pl.DataFrame, file_id: int, pending: list[PendingRound]) -> None:
    """Each round's observations to store (duplicates settled: the first row of a repeated cell is kept,
    exactly as the duplicate rules judged them), its content hash, and whether it is unchanged."""
    kept = batch.filter(~repeats(batch)).with_columns(pl.lit(file_id, dtype=pl.Int64).alias("source_file_id"))
    hashes = rounds.row_hashes(kept)
    offset = 0
    # every round keeps at least the first row of each cell, and rows stay in round order
    for pos, n in kept.group_by(POSITION, maintain_order=True).len().iter_rows():
        r = pending[pos]
        observations = kept.slice(offset, n).select(OBSERVATION_COLUMNS)
        if r.previous is None:
            r.observations = observations
            r.digest = rounds.content_hash(observations, r.meta, hashes.slice(offset, n))
        else:
            r.stored = rounds.read_observations(conn, r.previous.id)
            r.observations = merge_levels(r.stored, observations)
            r.digest = rounds.content_hash(r.observations, r.meta)
            r.unchanged = same_as(r.previous, r.stored, r.digest, r.observations, r.meta)
        offset += n


def roll_up(conn: Connection, pending: list[PendingRound]) -> None:
    """Figures of every changed round of the batch, rolled up together (grouped by round)."""
    changed = [(pos, r) for pos, r in enumerate(pending) if not r.unchanged]
    if not changed:
        return
    countries = sorted({r.key[1] for _, r in changed})
    places = pl.concat([hierarchy(conn, c) for c in countries], how="vertical_relaxed")
    observations = pl.concat([r.observations.with_columns(pl.lit(pos, dtype=pl.UInt32).alias(POSITION))
                              for pos, r in changed], how="vertical_relaxed")
    figures = rollup(observations, places, by=[POSITION]).partition_by(POSITION, as_dict=True, include_key=False)
    for pos, r in changed:
        found = figures.get((pos,))
        r.figures = found if found is not None else rollup(r.observations.clear(), places)


class PreviousFigures:
    """The figures a round is compared with: those of the latest earlier round (by number) of the same
    operation and assessment type, as stored when the round is finalised. Keeps the figures last
    written per operation and type, so that rounds imported in order need no read back."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.last: dict[tuple[int, str], tuple[int, pl.DataFrame]] = {}  # series -> (version id, figures)

    def for_batch(self, pending: list[PendingRound], schema: dict) -> pl.DataFrame | None:
        """Previous figures for each round of the batch, each row naming the round it is for."""
        stored = self._stored_before(pending)
        frames = []
        for pos, r in enumerate(pending):
            figures = self._previous(pos, r, pending, stored)
            if figures is not None and figures.height:
                frames.append(figures.select("location_id", "population_group", "unit", "value").with_columns(
                    pl.lit(v, dtype=schema[c]).alias(c) for c, v in zip(ROUND_KEY, r.key, strict=True)))
        return pl.concat(frames, how="vertical_relaxed") if frames else None

    def _stored_before(self, pending: list[PendingRound]) -> dict[tuple, list[tuple[int, int]]]:
        """(number, current version id) of the stored rounds of each series in the batch, before it."""
        out: dict[tuple, list[tuple[int, int]]] = {}
        for op_id, atype in {r.series for r in pending}:
            out[(op_id, atype)] = [tuple(x) for x in self.conn.execute(
                select(round_.c.number, round_.c.current_version_id)
                .where(round_.c.operation_id == op_id, round_.c.assessment_type == atype,
                       round_.c.current_version_id.is_not(None))).all()]
        return out

    def _previous(self, pos: int, r: PendingRound, pending: list[PendingRound], stored: dict) -> pl.DataFrame | None:
        best_stored = max(((n, vid) for n, vid in stored[r.series] if n < r.number), default=None)
        earlier = [p for p in pending[:pos] if p.series == r.series and p.number < r.number]
        best_batch = max(earlier, key=lambda p: p.number, default=None)
        if best_batch is not None and (best_stored is None or best_batch.number >= best_stored[0]):
            if not best_batch.unchanged:
                return best_batch.figures
            return self._figures(best_batch.previous.id)
        return None if best_stored is None else self._figures(best_stored[1])

    def _figures(self, version_id: int) -> pl.DataFrame:
        for vid, figures in self.last.values():
            if vid == version_id:
                return figures
        return rounds.read_figures(self.conn, version_id)

    def written(self, r: PendingRound, version_id: int) -> None:
        self.last[r.series] = (version_id, r.figures)


def route(issues: list[Issue], batch: pl.DataFrame) -> list[int | None]:
    """The batch position of the round each issue's row belongs to (None: not a row of the batch)."""
    if not issues:
        return []
    wanted = pl.DataFrame({"source_sheet": [i.sheet for i in issues], "source_row": [i.row for i in issues]},
                          schema={"source_sheet": pl.String, "source_row": pl.Int64}).with_row_index("_i")
    rows = batch.select("source_sheet", "source_row", POSITION).unique(["source_sheet", "source_row"], keep="first",
                                                                       maintain_order=True)
    found = wanted.join(rows, on=["source_sheet", "source_row"], how="left", nulls_equal=True).sort("_i")
    return found[POSITION].to_list()
