"""Hierarchies of places and reconciliation, so that district forecasts add up to regions.

Aggregate nodes get path ids (`SOM`, `SOM/Bay`, ...); the leaves keep their series ids.
Nodes are ordered aggregates first, leaves last, which is the layout hierarchicalforecast's
reconcilers expect for the summing matrix S (n_nodes x n_leaves).

The reconciliation method is chosen by backtest (see engine.py). MinTrace with a shrunk
covariance (mint_shrink) is often the best on long series but is numerically fragile on
short, zero-heavy ones (near-singular covariance), so every result is checked and a failing
or wild method falls back along `FALLBACK`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from mobtrack.foresight.frame import ForesightInputError

METHODS = ("bottom_up", "mint_ols", "mint_wls_struct", "mint_shrink")
FALLBACK = ("mint_wls_struct", "bottom_up")


@dataclass(frozen=True)
class Hierarchy:
    node_ids: list[str]  # aggregates first, then leaves (in `leaf_ids` order)
    leaf_ids: list[str]
    S: np.ndarray  # (n_nodes, n_leaves) 0/1 summing matrix
    levels: list[str]  # level name of each node ("country", "admin1", ..., "series")

    @property
    def n_aggregates(self) -> int:
        return len(self.node_ids) - len(self.leaf_ids)


def build(frame: pl.DataFrame, columns: list[str], leaf_ids: list[str]) -> Hierarchy:
    """Build the tree from a normalised frame's hierarchy columns (one path per series)."""
    paths = frame.select("series_id", *columns).unique(subset="series_id")
    path_of = {r[0]: r[1:] for r in paths.iter_rows()}
    agg_ids: list[str] = []
    agg_level: list[str] = []
    members: dict[str, list[int]] = {}
    for j, leaf in enumerate(leaf_ids):
        parts = path_of[leaf]
        for depth in range(1, len(columns) + 1):
            node = "/".join(parts[:depth])
            if node == leaf:
                continue  # the leaf is itself the deepest path: not a separate aggregate
            if node not in members:
                members[node] = []
                agg_ids.append(node)
                agg_level.append(columns[depth - 1])
            members[node].append(j)
    clash = set(agg_ids) & set(leaf_ids)
    if clash:
        raise ForesightInputError(f"series ids {sorted(clash)[:5]} are also hierarchy aggregate ids")
    order = sorted(range(len(agg_ids)), key=lambda k: (agg_ids[k].count("/"), agg_ids[k]))
    agg_ids = [agg_ids[k] for k in order]
    agg_level = [agg_level[k] for k in order]
    S = np.zeros((len(agg_ids) + len(leaf_ids), len(leaf_ids)))
    for r, node in enumerate(agg_ids):
        S[r, members[node]] = 1.0
    S[len(agg_ids) :] = np.eye(len(leaf_ids))
    return Hierarchy(agg_ids + list(leaf_ids), list(leaf_ids), S, agg_level + ["series"] * len(leaf_ids))


def aggregate(h: Hierarchy, leaf_values: np.ndarray) -> np.ndarray:
    """All node values from leaf values (n_leaves, T); an aggregate starts when its first child does."""
    filled = np.nan_to_num(leaf_values, nan=0.0)
    started = (h.S @ (~np.isnan(leaf_values)).astype(float)) > 0
    out = h.S @ filled
    out[~started] = np.nan
    return out


def observed(h: Hierarchy, leaf_values: np.ndarray, leaf_observed: np.ndarray) -> np.ndarray:
    """Whether each node's value in a period rests on reports: an aggregate only when every
    child that has started was itself observed (otherwise it is partly interpolated)."""
    started = (~np.isnan(leaf_values)).astype(float)
    seen = (leaf_observed & ~np.isnan(leaf_values)).astype(float)
    return (h.S @ seen == h.S @ started) & (h.S @ started > 0)


def reconcile(
    h: Hierarchy,
    method: str,
    y_hat: np.ndarray,
    residuals: np.ndarray | None = None,
) -> np.ndarray:
    """Coherent, non-negative forecasts for every node. y_hat: (n_nodes, k) base forecasts.

    `residuals` (n_nodes, m) are backtest errors (actual - forecast), needed by mint_shrink.
    Raises ValueError if the method fails or returns something unusable.
    """
    y_hat = np.nan_to_num(y_hat, nan=0.0)
    try:
        rec = _library_reconcile(h, method, y_hat, residuals)
    except (ValueError, np.linalg.LinAlgError):
        raise
    except Exception as exc:  # hierarchicalforecast raises bare Exception on degenerate residuals
        raise ValueError(f"{method} failed: {exc}") from exc
    scale = max(float(np.abs(y_hat).max()), 1.0)
    if not np.all(np.isfinite(rec)) or np.abs(rec).max() > 10 * scale:
        raise ValueError(f"{method} gave non-finite or exploding forecasts")
    # Clip the leaves at zero and add up again: non-negative *and* still coherent.
    leaves = np.clip(rec[h.n_aggregates :], 0.0, None)
    return h.S @ leaves


def _library_reconcile(h: Hierarchy, method: str, y_hat: np.ndarray, residuals: np.ndarray | None) -> np.ndarray:
    from hierarchicalforecast.methods import BottomUp, MinTrace

    if method == "bottom_up":
        rec = BottomUp().fit_predict(S=h.S, y_hat=y_hat)["mean"]
    elif method in ("mint_ols", "mint_wls_struct"):
        rec = MinTrace(method=method.removeprefix("mint_")).fit_predict(S=h.S, y_hat=y_hat)["mean"]
    elif method == "mint_shrink":
        if residuals is None or residuals.shape[1] < 3:
            raise ValueError("mint_shrink needs backtest residuals")
        res = np.nan_to_num(residuals, nan=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # y_insample - y_hat_insample must equal the residuals; pass them as (res, 0).
            rec = MinTrace(method="mint_shrink").fit_predict(
                S=h.S, y_hat=y_hat, y_insample=res, y_hat_insample=np.zeros_like(res)
            )["mean"]
    else:
        raise ValueError(f"unknown reconciliation method {method!r}")
    return np.asarray(rec, dtype=float)


def reconcile_with_fallback(
    h: Hierarchy, method: str, y_hat: np.ndarray, residuals: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """Reconcile with `method`, falling back along FALLBACK; returns (forecasts, method used)."""
    for m in (method, *[f for f in FALLBACK if f != method]):
        try:
            return reconcile(h, m, y_hat, residuals), m
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
            continue
    raise RuntimeError("even bottom-up reconciliation failed")  # pragma: no cover - BU is a sum
