"""The complete table of every figure that could be published from one set of counts, and how they add up.

Linked tables are the reason this exists. A figure suppressed at admin3 can be recovered from
the admin2 total minus its published siblings, from the sex breakdown, or from a total over
rounds, even when each of those tables was checked on its own. So protection never looks at
one table: it builds the *cube* -- every admin level (and a grand total), every disaggregation
either split or totalled, every round -- and the list of additive relations between its cells
(``parent = sum of children`` along one dimension). Every public table is a slice of that cube,
so cells suppressed in one slice are suppressed in all of them.

Inside the cube, "total over this dimension" is the sentinel ``TOTAL``; outputs turn it into null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np
import polars as pl

TOTAL = "\u0000total"  # cannot collide with a real p-code or category
ROUND_TOTAL = -1  # round ordinal of the "all rounds" margin (flow tables with round_total=True)


class SpecError(ValueError):
    """The table or its declaration cannot be protected as given; the message says how to fix it."""


@dataclass(frozen=True)
class TableSpec:
    """What the columns of a count table mean.

    hierarchy        admin code columns, coarsest first (e.g. adm1_pcode, adm2_pcode, adm3_pcode);
                     the last one is the level of the rows passed in.
    disaggregations  category columns (sex, age_band, reason...) whose totals are also figures.
    round            column ordering the rounds (number or date), or None for a single round.
    round_kind       "stock" (people present at each round: the change between rounds is itself a
                     count of people who moved) or "flow" (people counted during each period).
    round_total      flow tables only: also publish the total over all rounds of the table.
    protect_changes  stock tables: suppress the later round of a figure whose change since the
                     previous round is 1..threshold people (default on; turn off only for tables
                     whose rounds are never shown side by side, and say so in the release notes).
    categories       the declared categories per disaggregation (from the vocabulary or gazetteer,
                     never derived from the data); undeclared ones are taken as observed.
    threshold        counts 1..threshold are small cells (0 is not sensitive).
    """

    hierarchy: Sequence[str]
    disaggregations: Sequence[str] = ()
    round: str | None = None
    round_kind: Literal["stock", "flow"] = "stock"
    round_total: bool = False
    protect_changes: bool = True
    value: str = "value"
    threshold: int = 10
    categories: Mapping[str, Sequence[str]] = field(default_factory=dict)
    grand_total: bool = True

    def __post_init__(self):
        if not self.hierarchy:
            raise SpecError("declare at least one admin level column in `hierarchy`")
        if self.threshold < 1:
            raise SpecError(f"threshold must be at least 1, got {self.threshold}")
        if self.round_kind not in ("stock", "flow"):
            raise SpecError(f"round_kind must be 'stock' or 'flow', got {self.round_kind!r}")
        if self.round_total and (self.round is None or self.round_kind != "flow"):
            raise SpecError("round_total needs a round column and round_kind='flow' (stocks do not add up over rounds)")
        names = [*self.hierarchy, *self.disaggregations, *([self.round] if self.round else []), self.value]
        if len(set(names)) != len(names):
            raise SpecError(f"a column is declared twice: {names}")

    @property
    def keys(self) -> list[str]:
        return [*self.hierarchy, *self.disaggregations]


@dataclass
class Cube:
    """All cells (``frame``) and their additive relations (``members``)."""

    spec: TableSpec
    frame: pl.DataFrame  # key columns (String), "_r" round ordinal, "_level", "_v" value; row index = cell id
    rounds: pl.Series  # round values in order; "_r" indexes into it
    rel: np.ndarray  # relation id per membership
    cell: np.ndarray  # cell id per membership
    coef: np.ndarray  # +1 for the total, -1 for each part
    leaf_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # cells that were input rows

    @property
    def values(self) -> np.ndarray:
        return self.frame["_v"].to_numpy()


def _validate(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    wanted = [*spec.keys, *([spec.round] if spec.round else []), spec.value]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SpecError(f"columns not in the table: {missing} (it has {frame.columns})")
    df = frame.select(wanted)
    for col in spec.keys:
        df = df.with_columns(pl.col(col).cast(pl.String))
        nulls = df[col].null_count()
        if nulls:
            raise SpecError(
                f"{nulls} row(s) have no {col!r}: pass leaf rows only (totals are computed here); "
                "put unknown categories in an explicit category such as 'unknown'"
            )
    if spec.round and df[spec.round].null_count():
        raise SpecError(f"{df[spec.round].null_count()} row(s) have no round in {spec.round!r}")
    if not df.schema[spec.value].is_numeric():
        raise SpecError(f"value column {spec.value!r} must be numeric, it is {df.schema[spec.value]}")
    v = df[spec.value]
    bad = df.filter(v.is_null() | (v < 0) | (v.cast(pl.Float64) != v.cast(pl.Float64).round(0)))
    if bad.height:
        raise SpecError(f"{bad.height} row(s) have a missing, negative or fractional count, e.g. {bad.row(0)}")
    # Each admin unit must sit under exactly one parent, or sums by level would not nest.
    h = list(spec.hierarchy)
    for i in range(1, len(h)):
        clash = df.select(h[: i + 1]).unique().group_by(h[i]).len().filter(pl.col("len") > 1)
        if clash.height:
            raise SpecError(f"{h[i]} {clash[h[i]][0]!r} has more than one parent in {h[:i]}: fix the p-codes first")
    return df.with_columns(pl.col(spec.value).cast(pl.Int64))


def _categories(df: pl.DataFrame, spec: TableSpec, col: str) -> list[str]:
    observed = set(df[col].unique().to_list())
    declared = spec.categories.get(col)
    if declared is None:
        return sorted(observed)
    declared = [str(c) for c in declared]
    unknown = observed - set(declared)
    if unknown:
        raise SpecError(f"{col} has values not in its declared categories: {sorted(unknown)}")
    return declared


def build_cube(frame: pl.DataFrame, spec: TableSpec) -> Cube:
    df = _validate(frame, spec)
    h, d = list(spec.hierarchy), list(spec.disaggregations)
    if spec.round:
        rounds = df[spec.round].unique().sort()
        df = df.join(pl.DataFrame({spec.round: rounds, "_r": pl.Series(range(len(rounds)), dtype=pl.Int32)}),
                     on=spec.round).drop(spec.round)
    else:
        rounds = pl.Series("round", [None])
        df = df.with_columns(pl.lit(0, pl.Int32).alias("_r"))
    keys = [*h, *d, "_r"]
    df = df.group_by(keys).agg(pl.col(spec.value).sum().alias("_v"))
    input_keys = df.select(keys)
    # Complete the cube: every category of every disaggregation at each place assessed in a round.
    # A missing combination is a published zero; leaving it out would hide it from the relations.
    full = df.select([*h, "_r"]).unique()
    for col in d:
        full = full.join(pl.DataFrame({col: _categories(df, spec, col)}), how="cross")
    leaves = full.join(df, on=keys, how="left").with_columns(pl.col("_v").fill_null(0))

    parts = []
    dims_to_total = [*d, *(["_r"] if spec.round_total else [])]
    lowest = 0 if spec.grand_total else 1
    for level in range(len(h), lowest - 1, -1):
        for n in range(len(dims_to_total) + 1):
            for subset in combinations(dims_to_total, n):
                keep = [c for c in [*h[:level], *d, "_r"] if c not in subset]
                agg = leaves.group_by(keep).agg(pl.col("_v").sum()) if keep else leaves.select(pl.col("_v").sum())
                fill = [pl.lit(TOTAL).alias(c) for c in [*h[level:], *d] if c not in keep]
                if "_r" in subset:
                    fill.append(pl.lit(ROUND_TOTAL, pl.Int32).alias("_r"))
                parts.append(agg.with_columns(*fill, pl.lit(level, pl.Int8).alias("_level")).select([*keys, "_level", "_v"]))
    # Sorted so that cell ids, and with them every tie-break in suppression, are reproducible.
    cube = pl.concat(parts).sort(["_level", "_r", *keys]).with_row_index("_id")
    rel, cell, coef = _relations(cube, spec, lowest)
    leaf_ids = cube.join(input_keys, on=keys).filter(pl.col("_level") == len(h))["_id"].to_numpy().astype(np.int64)
    return Cube(spec, cube.drop("_id"), rounds, rel, cell, coef, np.sort(leaf_ids))


def _relations(cube: pl.DataFrame, spec: TableSpec, lowest: int):
    """Each relation is one total and the parts it splits into along exactly one dimension."""
    h, d = list(spec.hierarchy), list(spec.disaggregations)
    keys = [*h, *d, "_r"]
    pairs = []  # (parent id, child id, dimension slot)
    for level in range(lowest, len(h)):
        # the parent of an admin unit at level+1 is the same row with that unit's code turned into TOTAL
        children = cube.filter(pl.col("_level") == level + 1)
        parents = cube.filter(pl.col("_level") == level).select([*keys, pl.col("_id").alias("_pid")])
        link = children.with_columns(pl.lit(TOTAL).alias(h[level])).join(parents, on=keys)
        pairs.append(link.select("_pid", "_id", pl.lit(0, pl.Int32).alias("_slot")))
    split_dims = [*d, *(["_r"] if spec.round_total else [])]
    for slot, col in enumerate(split_dims, start=1):
        total = pl.lit(ROUND_TOTAL, pl.Int32) if col == "_r" else pl.lit(TOTAL)
        is_part = (pl.col(col) != ROUND_TOTAL) if col == "_r" else (pl.col(col) != TOTAL)
        children = cube.filter(is_part)
        parents = cube.filter(~is_part).select([*keys, "_level", pl.col("_id").alias("_pid")])
        link = children.with_columns(total.alias(col)).join(parents, on=[*keys, "_level"])
        pairs.append(link.select("_pid", "_id", pl.lit(slot, pl.Int32).alias("_slot")))
    if not pairs:
        return (np.empty(0, np.int64),) * 2 + (np.empty(0, np.int8),)
    p = pl.concat(pairs)
    nslots = len(split_dims) + 1
    rel_of_pair = (p["_pid"].cast(pl.Int64) * nslots + p["_slot"]).to_numpy()
    parent_rel = np.unique(rel_of_pair)
    rel = np.concatenate([parent_rel, rel_of_pair])
    cell = np.concatenate([parent_rel // nslots, p["_id"].cast(pl.Int64).to_numpy()])
    coef = np.concatenate([np.ones(len(parent_rel), np.int8), -np.ones(len(rel_of_pair), np.int8)])
    # compact relation ids to 0..R-1
    _, rel = np.unique(rel, return_inverse=True)
    return rel.astype(np.int64), cell.astype(np.int64), coef


def to_output(cube: Cube, values: pl.Series, extra: dict[str, pl.Series], margins: bool) -> pl.DataFrame:
    """The cube (or only the input's rows) with TOTAL as null and round ordinals as round values."""
    spec = cube.spec
    out = cube.frame.with_columns(values.alias(spec.value), *[s.alias(k) for k, s in extra.items()])
    if not margins:
        out = out[cube.leaf_ids]
    out = out.with_columns([pl.when(pl.col(c) == TOTAL).then(None).otherwise(pl.col(c)).alias(c) for c in spec.keys])
    cols = [*spec.keys]
    if spec.round:
        rmap = pl.DataFrame({"_r": pl.Series(range(len(cube.rounds)), dtype=pl.Int32), spec.round: cube.rounds})
        out = out.join(rmap, on="_r", how="left", maintain_order="left")
        cols.append(spec.round)
    if margins:
        cols.append("_level")
    out = out.select([*cols, spec.value, *extra]).rename({"_level": "level"} if margins else {})
    return out
