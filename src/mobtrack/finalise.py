"""Finalising rounds in batches: what the pipeline does with the rounds a file has moved past.

A batch is several whole rounds (up to about pipeline.FINALISE_ROWS rows; a bigger round is alone).
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

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, select

from mobtrack.analytics.rollup import rollup
from mobtrack.store import rounds
from mobtrack.store.blocks import OBSERVATION_COLUMNS
from mobtrack.store.places import hierarchies
from mobtrack.store.schema import round_
from mobtrack.validate import Issue, RuleContext, first_rows, repeats

ROUND_KEY = ["operation", "country_iso3", "assessment_type", "round_number"]
POSITION = "_pos"  # a round's position in its batch


@dataclass(eq=False)
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
    positions = np.repeat(np.arange(len(frames), dtype=np.uint32), [f.height for f in frames])
    return pl.concat(frames, how="vertical_relaxed").with_columns(pl.Series(POSITION, positions))


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


def settle(conn: Connection, batch: pl.DataFrame, file_id: int, pending: list[PendingRound],
           ctx: RuleContext | None = None) -> None:
    """Each round's observations to store (duplicates settled: the first row of a repeated cell is kept,
    exactly as the duplicate rules judged them), its content hash, and whether it is unchanged. `ctx`:
    the context the round rules will check `batch` with (they reuse the duplicates found here)."""
    repeated = repeats(batch, ctx)
    # most rounds repeat no cell: then filtering would only copy every column
    kept = (batch.filter(~repeated) if repeated.any() else batch).with_columns(
        pl.lit(file_id, dtype=pl.Int64).alias("source_file_id"))
    # rows stay in round order, and every round keeps at least the first row of each of its cells
    sizes = kept.group_by(POSITION, maintain_order=True).len()
    observations = kept.select(OBSERVATION_COLUMNS)
    # the row hashes of all rounds at once; a round's rows are one slice (sorted for its digest:
    # numpy sorts a slice of integers several times faster than a sort of the batch by round and hash)
    hashes = rounds.row_hashes(kept).to_numpy()
    offset = 0
    for pos, n in sizes.iter_rows():
        r = pending[pos]
        mine = observations.slice(offset, n)
        if r.previous is None:
            r.observations, r.digest = mine, rounds.digest_of(np.sort(hashes[offset:offset + n]), r.meta)
        else:
            r.stored = rounds.read_observations(conn, r.previous.id)
            r.observations = merge_levels(r.stored, mine)
            r.digest = rounds.content_hash(r.observations, r.meta)
            r.unchanged = same_as(r.previous, r.stored, r.digest, r.observations, r.meta)
        offset += n


def roll_up(conn: Connection, pending: list[PendingRound]) -> pl.DataFrame | None:
    """Figures of every changed round of the batch, rolled up together (grouped by round). Returns them
    all, with the round's position, for what needs them across rounds."""
    changed = [(pos, r) for pos, r in enumerate(pending) if not r.unchanged]
    if not changed:
        return None
    countries = sorted({r.key[1] for _, r in changed})
    places = hierarchies(conn, countries)
    observations = pl.concat([r.observations for _, r in changed], how="vertical_relaxed").with_columns(
        pl.Series(POSITION, np.repeat(np.array([pos for pos, _ in changed], dtype=np.uint32),
                                      [r.observations.height for _, r in changed])))
    figures = rollup(observations, places, by=[POSITION])
    parts = figures.partition_by(POSITION, as_dict=True, include_key=False)
    for pos, r in changed:
        found = parts.get((pos,))
        r.figures = found if found is not None else rollup(r.observations.clear(), places)
    return figures


def headline_totals(figures: pl.DataFrame | None, pending: list[PendingRound]) -> pl.DataFrame:
    """Country-level figures where no value was missing, of the batch's changed rounds: (position,
    operation, assessment_type, round_number, population_group, unit, value); a round without any has
    one row with a null group and value."""
    info = pl.DataFrame({POSITION: [pos for pos, r in enumerate(pending) if not r.unchanged],
                         "operation": [r.key[0] for r in pending if not r.unchanged],
                         "assessment_type": [r.key[2] for r in pending if not r.unchanged],
                         "round_number": [r.number for r in pending if not r.unchanged]},
                        schema={POSITION: pl.UInt32, "operation": pl.String, "assessment_type": pl.String,
                                "round_number": pl.Int64})
    if figures is None:
        figures = pl.DataFrame(schema={POSITION: pl.UInt32, "admin_level": pl.Int8, "missing": pl.Int32,
                                       "population_group": pl.String, "unit": pl.String, "value": pl.Int64})
    top = figures.filter((pl.col("admin_level") == 0) & (pl.col("missing") == 0) & pl.col("value").is_not_null())
    columns = [POSITION, "operation", "assessment_type", "round_number", "population_group", "unit",
               pl.col("value").cast(pl.Int64)]
    found = top.join(info, on=POSITION, how="inner", maintain_order="left").select(columns)
    # a changed round without totals still replaces the stored ones: one row with null group and value
    empty = info.join(found, on=POSITION, how="anti").with_columns(
        pl.lit(None, dtype=pl.String).alias("population_group"), pl.lit(None, dtype=pl.String).alias("unit"),
        pl.lit(None, dtype=pl.Int64).alias("value")).select(columns)
    return pl.concat([found, empty]).sort(POSITION, maintain_order=True)


class PreviousFigures:
    """The figures a round is compared with: those of the latest earlier round (by number) of the same
    operation and assessment type, as stored when the round is finalised. Keeps the figures last
    written per operation and type, so that rounds imported in order need no read back."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.last: dict[tuple[int, str], tuple[int, pl.DataFrame]] = {}  # series -> (version id, figures)

    def for_batch(self, pending: list[PendingRound], figures: pl.DataFrame | None,
                  schema: dict) -> pl.DataFrame | None:
        """Previous figures for each round of the batch, each row naming the round it is for (its
        ROUND_KEY columns). `figures`: the batch's rolled-up figures, by position."""
        stored = {series: sorted(rows) for series, rows in self._stored_before(pending).items()}
        seen: dict[tuple, list[tuple[int, int]]] = {}  # series -> sorted (number, position) of earlier rounds
        in_batch: list[tuple[int, int]] = []  # (round, position of its previous round in the batch)
        in_store: dict[int, list[int]] = {}  # version id -> the rounds it is the previous of
        for pos, r in enumerate(pending):
            earlier = seen.setdefault(r.series, [])
            source = self._previous(r, pending, earlier, stored[r.series])
            bisect.insort(earlier, (r.number, pos))
            if source is None:
                continue
            if source[0] == "batch":
                in_batch.append((pos, source[1]))
            else:
                in_store.setdefault(source[1], []).append(pos)
        columns = ["location_id", "population_group", "unit", "value"]
        parts = []
        if in_batch and figures is not None:
            links = pl.DataFrame(in_batch, schema={"_for": pl.UInt32, POSITION: pl.UInt32}, orient="row")
            parts.append(figures.select(POSITION, *columns).join(links, on=POSITION).select("_for", *columns))
        for vid, targets in in_store.items():
            parts.append(self._figures(vid).select(columns).join(
                pl.DataFrame({"_for": targets}, schema={"_for": pl.UInt32}), how="cross").select("_for", *columns))
        if not parts:
            return None
        keys = pl.DataFrame([(pos, *r.key) for pos, r in enumerate(pending)], orient="row",
                            schema={"_for": pl.UInt32, **{c: schema[c] for c in ROUND_KEY}})
        return pl.concat(parts, how="vertical_relaxed").join(keys, on="_for").drop("_for")

    def _stored_before(self, pending: list[PendingRound]) -> dict[tuple, list[tuple[int, int]]]:
        """(number, current version id) of the stored rounds of each series in the batch, before it."""
        out: dict[tuple, list[tuple[int, int]]] = {series: [] for series in {r.series for r in pending}}
        # one query for the batch's operations (a flow-monitoring batch spans ten)
        for op_id, atype, number, vid in self.conn.execute(
                select(round_.c.operation_id, round_.c.assessment_type, round_.c.number, round_.c.current_version_id)
                .where(round_.c.operation_id.in_(sorted({op_id for op_id, _ in out})),
                       round_.c.current_version_id.is_not(None))):
            if (op_id, atype) in out:
                out[(op_id, atype)].append((number, vid))
        return out

    @staticmethod
    def _previous(r: PendingRound, pending: list[PendingRound], earlier: list[tuple[int, int]],
                  stored: list[tuple[int, int]]) -> tuple[str, int] | None:
        """The round `r` follows: ("batch", its position) when it is an earlier round of the batch with
        new figures, ("stored", version id) when its figures are stored, or None. `earlier`: sorted
        (number, position) of the rounds of its series before it in the batch; `stored`: sorted
        (number, version id) of its series' stored rounds. Searched by bisection, not scanned: a
        flow-monitoring batch has hundreds of monthly rounds of one series."""
        below = bisect.bisect_left(stored, (r.number,))
        best_stored = stored[below - 1] if below else None
        below = bisect.bisect_left(earlier, (r.number,))
        best = None
        if below:  # the highest earlier number; of several rounds with it, the first in the batch
            best = earlier[bisect.bisect_left(earlier, (earlier[below - 1][0],))][1]
        if best is not None and (best_stored is None or pending[best].number >= best_stored[0]):
            return ("stored", pending[best].previous.id) if pending[best].unchanged else ("batch", best)
        return None if best_stored is None else ("stored", best_stored[1])

    def _figures(self, version_id: int) -> pl.DataFrame:
        for vid, figures in self.last.values():
            if vid == version_id:
                return figures
        return rounds.read_figures(self.conn, version_id)

    def written(self, r: PendingRound, version_id: int) -> None:
        self.last[r.series] = (version_id, r.figures)


def route(issues: list[Issue], frame: pl.DataFrame, columns: list[str]) -> list[tuple | None]:
    """For each issue, the `columns` of the first row of `frame` it names (by sheet and row), or None
    when it names no row of `frame` (a file-wide finding, or a row of other rounds)."""
    if not issues:
        return []
    wanted = pl.DataFrame({"source_sheet": [i.sheet for i in issues], "source_row": [i.row for i in issues]},
                          schema={"source_sheet": pl.String, "source_row": pl.Int64}).with_row_index("_i")
    rows = first_rows(frame, wanted["source_row"], columns).with_columns(pl.lit(True).alias("_found"))
    found = wanted.join(rows, on=["source_sheet", "source_row"], how="left", nulls_equal=True).sort("_i")
    return [row[:-1] if row[-1] else None for row in found.select(*columns, "_found").rows()]
