"""An attacker who sees only the published table (every margin) and knows how figures add up.

Written independently of the library's internals: relations are rebuilt from the published rows'
keys, and exact recovery is tested by matrix rank (the library uses null spaces), by peeling one
unknown at a time, and by linear-programming bounds. Shared by tests/ and shared_tests/.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl


def relations(out: pl.DataFrame, hierarchy, disaggregations, round_col=None, round_total=False):
    """Every (total row, [part rows]) relation visible in the published table, by kind."""
    keys = [*hierarchy, *disaggregations, *([round_col] if round_col else [])]
    rows = out.select([*keys, "level"]).rows()
    index = {r: i for i, r in enumerate(rows)}
    rels = defaultdict(list)  # kind -> list of (parent, children)
    groups = defaultdict(list)
    for i, r in enumerate(rows):
        key, level = list(r[:-1]), r[-1]
        # hierarchy: the row's own unit at `level`, parent has that unit nulled and level-1
        if level >= 1:
            parent = key.copy()
            parent[level - 1] = None
            p = index.get((*parent, level - 1))
            if p is not None:
                groups[("cross_level", p)].append(i)
        for j, d in enumerate(disaggregations, start=len(hierarchy)):
            if key[j] is not None:
                parent = key.copy()
                parent[j] = None
                p = index.get((*parent, level))
                if p is not None:
                    groups[("cross_disaggregation", p, j)].append(i)
        if round_total and key[-1] is not None:
            parent = key.copy()
            parent[-1] = None
            p = index.get((*parent, level))
            if p is not None:
                groups[("round_total", p)].append(i)
    for g, children in groups.items():
        rels[g[0]].append((g[1], children))
    return rels


def peel(values: list, rels) -> dict[int, int]:
    """Repeatedly solve every relation that has exactly one unknown; returns what it recovered."""
    known = {i: v for i, v in enumerate(values) if v is not None}
    recovered = {}
    progress = True
    while progress:
        progress = False
        for parent, children in rels:
            members = [parent, *children]
            unknown = [m for m in members if m not in known]
            if len(unknown) != 1:
                continue
            u = unknown[0]
            rest = sum(known[c] for c in children if c != u)
            known[u] = known[parent] - rest if u != parent else rest
            recovered[u] = known[u]
            progress = True
    return recovered


def _system(values, rels):
    hidden = [i for i, v in enumerate(values) if v is None]
    col = {c: k for k, c in enumerate(hidden)}
    rows, rhs = [], []
    for parent, children in rels:
        members = [(parent, 1.0)] + [(c, -1.0) for c in children]
        if not any(m in col for m, _ in members):
            continue
        row = np.zeros(len(hidden))
        b = 0.0
        for m, coef in members:
            if m in col:
                row[col[m]] += coef
            else:
                b -= coef * values[m]
        rows.append(row)
        rhs.append(b)
    a = np.array(rows).reshape(len(rows), len(hidden))
    return hidden, a, np.array(rhs)


def linear_recoverable(values: list, rels) -> list[int]:
    """Hidden cells fixed by the published figures: the cell's unit vector lies in the row space of
    the system (projection onto the row space through the pseudo-inverse leaves it unchanged)."""
    hidden, a, _ = _system(values, rels)
    if not hidden:
        return []
    if a.shape[0] == 0:
        return []
    projection = np.linalg.pinv(a) @ a
    return [h for k, h in enumerate(hidden) if abs(projection[k, k] - 1.0) < 1e-8]


def lp_bounds(values: list, rels) -> dict[int, tuple[float, float]]:
    """Tightest [min, max] of each hidden cell given published figures, relations and counts >= 0."""
    from scipy.optimize import linprog

    hidden, a, b = _system(values, rels)
    out = {}
    for k, h in enumerate(hidden):
        c = np.zeros(len(hidden))
        c[k] = 1
        lo = linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        out[h] = (lo.fun, -hi.fun if hi.status == 0 else float("inf"))
    return out


def small_round_changes(out: pl.DataFrame, keys, round_col, value, threshold) -> pl.DataFrame:
    """Published figures whose change from the previous round is a small count of people."""
    rounds = out[round_col].unique().sort()
    order = pl.DataFrame({round_col: rounds, "_o": range(len(rounds))})
    f = out.join(order, on=round_col).select([*keys, "level", "_o", value])
    prev = f.with_columns(pl.col("_o") + 1)
    j = f.join(prev, on=[*keys, "level", "_o"], suffix="_prev", nulls_equal=True)
    d = (pl.col(value) - pl.col(f"{value}_prev")).abs()
    return j.filter(d.is_between(1, threshold))
