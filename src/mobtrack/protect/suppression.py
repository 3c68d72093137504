"""Small-cell suppression with secondary suppression across every linked table and round.

The guarantee (see docs/adr/0001-disclosure-control.md for its limits):

1. Primary: every figure of the cube -- admin units at every level, the grand total, every
   disaggregation and its totals -- whose count is 1..threshold is suppressed. Zeros are shown.
2. Secondary, linear: let S be the suppressed cells. For every cell of S there is a way to change
   the values of S that keeps every published figure and every relation ``total = sum of parts``
   true. So no combination of published figures -- same-table totals, another admin level,
   another disaggregation, a total over rounds -- determines a suppressed count, and since all
   suppressed counts are positive, the continuous bounds an attacker gets by linear programming
   are never tight on either side. It is checked exactly (null space of the relations restricted
   to S, per connected group of suppressed cells), after the classic "at least two suppressed
   cells in every relation that has one" rule has done most of the work.
3. Rounds (stock tables): the change of a figure between consecutive rounds is a count of people
   who moved. When both rounds of a figure are shown and the change is 1..threshold, the later
   round is suppressed, so a family's arrival cannot be read as "50 - 45". Suppression never looks
   forward: adding a round never changes what an earlier round showed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr
from threadpoolctl import threadpool_limits

from mobtrack.protect.cube import ROUND_TOTAL, Cube, TableSpec, build_cube, to_output

PRIMARY, SECONDARY, ROUND_CHANGE, LINEAR = 1, 2, 3, 4
REASONS = {PRIMARY: "primary", SECONDARY: "secondary", ROUND_CHANGE: "round_change", LINEAR: "secondary"}

# Groups up to this many cells are checked by a dense eigendecomposition; larger ones by projecting
# random vectors onto the null space with a sparse least-squares solver (see _fixed_columns_sparse).
MAX_DENSE_COMPONENT = 1500
BATCH_DIVISOR = 4  # complements per pass for a group with n determined cells: about 4 (see _linear_audit)


@dataclass
class SuppressionResult:
    cube: Cube
    suppressed: np.ndarray  # bool per cube cell
    reason: np.ndarray  # int8 code per cube cell (0 = shown)

    def table(self, margins: bool = False) -> pl.DataFrame:
        """The input's rows (or, with margins=True, every figure of the cube, totals as null keys),
        value null where suppressed, plus ``suppressed`` and ``suppression`` (why) columns."""
        v = self.cube.values
        values = pl.Series(np.where(self.suppressed, 0, v)).cast(pl.Int64)
        values = values.scatter(np.flatnonzero(self.suppressed), None) if self.suppressed.any() else values
        reason = pl.Series([REASONS.get(int(r)) for r in self.reason], dtype=pl.String)
        return to_output(self.cube, values, {"suppressed": pl.Series(self.suppressed), "suppression": reason}, margins)

    @property
    def counts(self) -> dict[str, int]:
        leaf = np.zeros(len(self.suppressed), bool)
        leaf[self.cube.leaf_ids] = True
        return {
            "cells": int(len(self.suppressed)),
            "suppressed": int(self.suppressed.sum()),
            "primary": int((self.reason == PRIMARY).sum()),
            "secondary": int(np.isin(self.reason, (SECONDARY, LINEAR)).sum()),
            "round_change": int((self.reason == ROUND_CHANGE).sum()),
            "input_rows": int(leaf.sum()),
            "input_rows_suppressed": int((self.suppressed & leaf).sum()),
        }


def suppress(frame: pl.DataFrame, spec: TableSpec) -> SuppressionResult:
    """Protect a table of leaf counts; see the module docstring for what is guaranteed."""
    cube = build_cube(frame, spec)
    # The audit's matrices are a few hundred columns: BLAS threads only fight over the cores
    # (measured 10x slower on a loaded 2-core machine), so stay single-threaded.
    with threadpool_limits(1, user_api="blas"):
        return _suppress(cube, spec)


def _suppress(cube: Cube, spec: TableSpec) -> SuppressionResult:
    v = cube.values
    supp = (v >= 1) & (v <= spec.threshold)
    reason = np.where(supp, PRIMARY, 0).astype(np.int8)
    pairs = _round_pairs(cube) if spec.round and spec.round_kind == "stock" and spec.protect_changes else None
    cache: dict = {}
    while True:
        _pairwise_closure(cube, v, supp, reason)
        if pairs is not None and _round_change_rule(pairs, v, supp, reason, spec.threshold):
            continue
        if _linear_audit(cube, v, supp, reason, cache):
            continue
        return SuppressionResult(cube, supp, reason)


def _candidate_order(cube: Cube, v: np.ndarray) -> np.ndarray:
    """Rank of each cell as a complement: smallest count first (least information lost), finer
    admin level first (a suppressed total spreads to the next level up), then by id (determinism)."""
    level = cube.frame["_level"].to_numpy()
    order = np.lexsort((np.arange(len(v)), -level, v))
    rank = np.empty(len(v), np.int64)
    rank[order] = np.arange(len(v))
    return rank


def _pick(rel_ids: np.ndarray, cells: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """For each relation, its best-ranked candidate cell."""
    order = np.lexsort((rank[cells], rel_ids))
    _, first = np.unique(rel_ids[order], return_index=True)
    return cells[order][first]


def _pairwise_closure(cube: Cube, v, supp, reason) -> None:
    """Until no relation has exactly one suppressed cell, suppress its best other nonzero cell."""
    if not len(cube.rel):
        return
    rank = _candidate_order(cube, v)
    nrel = int(cube.rel.max()) + 1
    while True:
        count = np.bincount(cube.rel, weights=supp[cube.cell], minlength=nrel)
        lonely = count[cube.rel] == 1
        cand = lonely & ~supp[cube.cell] & (v[cube.cell] > 0)
        if not cand.any():
            return
        # A cell that sits in several relations needing a complement closes them all at once:
        # prefer it over a smaller cell that would close one (fewer figures hidden in the end).
        shared = np.bincount(cube.cell[cand], minlength=len(v))
        order = np.lexsort((rank, -shared))
        pref = np.empty(len(v), np.int64)
        pref[order] = np.arange(len(v))
        picked = _pick(cube.rel[cand], cube.cell[cand], pref)
        supp[picked] = True
        reason[picked] = SECONDARY


def _round_pairs(cube: Cube) -> np.ndarray:
    """(earlier cell, later cell) for the same figure in consecutive rounds where both exist."""
    spec = cube.spec
    keys = [*spec.keys, "_level"]
    f = cube.frame.with_row_index("_id").filter(pl.col("_r") != ROUND_TOTAL)
    later = f.with_columns((pl.col("_r") - 1).alias("_r"))
    joined = f.join(later, on=[*keys, "_r"], suffix="_later")
    return np.column_stack([joined["_id"].to_numpy(), joined["_id_later"].to_numpy()]).astype(np.int64)


def _round_change_rule(pairs, v, supp, reason, threshold) -> bool:
    if not len(pairs):
        return False
    a, b = pairs[:, 0], pairs[:, 1]
    change = np.abs(v[b] - v[a])
    hit = ~supp[a] & ~supp[b] & (change >= 1) & (change <= threshold)
    if not hit.any():
        return False
    supp[b[hit]] = True
    reason[b[hit]] = ROUND_CHANGE
    return True


def determined_cells(cube: Cube, supp: np.ndarray) -> np.ndarray:
    groups = determined_groups(cube, supp, {})
    return np.concatenate(groups) if groups else np.empty(0, np.int64)


def _fixed_columns(a: np.ndarray) -> np.ndarray:
    """Columns j that every null-space vector of ``a`` leaves at zero: those unknowns are determined.

    The null space of ``a`` is that of its Gram matrix aᵀa (k x k, k = unknowns, usually far fewer
    than relations), whose symmetric eigendecomposition is several times cheaper than an SVD of ``a``.
    The relation matrices hold only 0 and ±1, so their nonzero eigenvalues stay far above the cut."""
    gram = a.T @ a
    w, vecs = np.linalg.eigh(gram)
    null = vecs[:, w < 1e-9 * max(1.0, float(w[-1]) if len(w) else 1.0)]
    return (null * null).sum(axis=1) < 1e-8


def _fixed_columns_sparse(a: csr_matrix, seed: int = 0) -> np.ndarray:
    """Same answer as _fixed_columns for large sparse systems, with probability 1.

    A random vector r minus its least-squares projection onto the row space of ``a`` is a random
    vector of the null space; for a free cell its entry is almost surely nonzero, for a determined
    cell it is exactly zero. Two independent vectors guard against an unlucky near-zero draw."""
    rng = np.random.default_rng(seed)
    k = a.shape[1]
    free = np.zeros(k, bool)
    for _ in range(2):
        r = rng.standard_normal(k)
        y = lsqr(a.T, r, atol=1e-14, btol=1e-14, iter_lim=20 * k)[0]
        z = r - a.T @ y
        free |= np.abs(z) > 1e-6
    return ~free


def determined_groups(cube: Cube, supp: np.ndarray, cache: dict) -> list[np.ndarray]:
    """Suppressed cells whose value follows exactly from the published cells and the relations,
    grouped by connected group of suppressed cells (independent linear systems).

    Cell i is determined iff every vector of the null space of the relation matrix restricted to
    the suppressed cells has a zero i-th entry, i.e. iff e_i lies in that matrix's row space.
    """
    if not len(cube.rel) or not supp.any():
        return []
    on = supp[cube.cell]
    rels, cells, coefs = cube.rel[on], cube.cell[on], cube.coef[on]
    cell_ids, col = np.unique(cells, return_inverse=True)
    rel_ids, row = np.unique(rels, return_inverse=True)
    n_c, n_r = len(cell_ids), len(rel_ids)
    # bipartite graph cells <-> relations; components are independent systems
    graph = coo_matrix((np.ones(len(col)), (col, n_c + row)), shape=(n_c + n_r, n_c + n_r))
    _, label = connected_components(graph, directed=False)
    comp_of_cell = label[:n_c]
    out = []
    for comp in np.unique(comp_of_cell):
        cmask = comp_of_cell == comp
        members = np.isin(col, np.flatnonzero(cmask))
        local_cols = np.flatnonzero(cmask)
        col_index = np.full(n_c, -1)
        col_index[local_cols] = np.arange(len(local_cols))
        local_rows, ri = np.unique(row[members], return_inverse=True)
        ids = cell_ids[local_cols]
        key = ids.tobytes()
        if key not in cache:  # a group that did not change since the last pass needs no new check
            shape = (len(local_rows), len(local_cols))
            if len(local_cols) <= MAX_DENSE_COMPONENT:
                a = np.zeros(shape)
                a[ri, col_index[col[members]]] = coefs[members]
                cache[key] = ids[_fixed_columns(a)]
            else:
                a = csr_matrix((coefs[members].astype(float), (ri, col_index[col[members]])), shape=shape)
                cache[key] = ids[_fixed_columns_sparse(a)]
        if len(cache[key]):
            out.append(cache[key])
    return out


def _nearest_candidate(cube: Cube, v, supp, rank, cell: int) -> int:
    """The best shown nonzero cell in the relations of ``cell``; if they are all suppressed already,
    look one relation further out, and so on. Suppressing everything frees every cell (scaling all
    figures keeps every sum true), so the search always ends with a candidate."""
    cells = np.array([cell])
    seen = 0
    while True:
        rels = np.unique(cube.rel[np.isin(cube.cell, cells)])
        in_rel = np.isin(cube.rel, rels)
        cand = in_rel & ~supp[cube.cell] & (v[cube.cell] > 0)
        if cand.any():
            found = cube.cell[cand]
            return int(found[np.argmin(rank[found])])
        cells = np.unique(cube.cell[in_rel])
        if len(cells) == seen:
            raise RuntimeError("a suppressed cell is determined and no cell is left to suppress with it")
        seen = len(cells)


def _linear_audit(cube: Cube, v, supp, reason, cache: dict) -> bool:
    """Suppress one more cell near each group with an exactly-determined cell; True if any was added."""
    groups = determined_groups(cube, supp, cache)
    if not groups:
        return False
    rank = _candidate_order(cube, v)
    # A single new cell often frees several determined cells, so only some get a complement per pass;
    # one per pass would be minimal but needs a full re-check of a large group each time.
    for fixed in groups:
        step = max(1, len(fixed) // BATCH_DIVISOR)
        picked = {_nearest_candidate(cube, v, supp, rank, int(c)) for c in fixed[::step]}
        for best in picked:
            supp[best] = True
            reason[best] = LINEAR
    return True


def suppress_table(frame: pl.DataFrame, spec: TableSpec, margins: bool = False) -> pl.DataFrame:
    """Shortcut: the protected table (see SuppressionResult.table)."""
    return suppress(frame, spec).table(margins=margins)
