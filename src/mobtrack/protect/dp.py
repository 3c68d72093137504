"""Differentially private counts (OpenDP), as an alternative to suppression for a release.

Privacy unit: one person (or household, for household counts) in one round, contributing to at
most ``contributions`` leaf cells of that round's table (1 when the table partitions people:
each person is in one place, one sex, one age band). Neighbouring tables then differ by at most
``contributions`` in L1 distance, and integer (discrete) Laplace noise of scale
``contributions / epsilon`` on every leaf cell gives epsilon-DP with delta = 0; OpenDP's privacy
map checks that claim rather than this comment.

The leaf cells are every declared place times every declared category -- passed in from the
gazetteer and the vocabulary, never derived from the data, because "this village has a row"
is itself a disclosure. Post-processing (free under DP): negative noisy leaves become 0, then
every admin level and every total is the sum of the leaves, so the release is non-negative
integers that add up across levels. Clamping biases sums of many near-zero leaves upwards; the
bias is reported with each release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from mobtrack.protect.cube import SpecError, TableSpec, build_cube, to_output

PRIVACY_UNIT = "one person per round"


@dataclass(frozen=True)
class DPRelease:
    table: pl.DataFrame  # every level and total, non-negative integers that add up
    epsilon: float
    delta: float
    privacy_unit: str
    contributions: int
    scale: float
    mechanism: str = "discrete Laplace (OpenDP make_laplace on integers), leaves; totals by post-processing"

    def metadata(self) -> dict:
        """What is published next to the figures, so users can judge them."""
        return {
            "method": "differential_privacy",
            "epsilon": self.epsilon,
            "delta": self.delta,
            "privacy_unit": self.privacy_unit,
            "contributions_per_unit": self.contributions,
            "noise_scale": self.scale,
            "mechanism": self.mechanism,
            "expected_abs_error_per_leaf": expected_abs_error(self.scale),
        }


def _measurement(scale: float):
    import opendp.prelude as dp

    dp.enable_features("contrib")  # discrete Laplace on integers is vetted but still flagged contrib
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    return space >> dp.m.then_laplace(scale=scale)


def noisy_counts(counts: Sequence[int], epsilon: float, contributions: int = 1) -> tuple[np.ndarray, float]:
    """Integer Laplace noise on a vector of counts; returns (noisy counts, scale).

    Raises if OpenDP's own privacy map says the mechanism spends more than ``epsilon``."""
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}")
    if contributions < 1:
        raise ValueError(f"contributions must be at least 1, got {contributions}")
    scale = contributions / epsilon
    meas = _measurement(scale)
    spent = meas.map(contributions)
    if spent > epsilon * (1 + 1e-9):
        raise RuntimeError(f"OpenDP reports epsilon {spent} > requested {epsilon}")
    values = [int(c) for c in counts]
    return np.asarray(meas(values) if values else [], dtype=np.int64), scale


def expected_abs_error(scale: float) -> float:
    """E|noise| of the discrete Laplace with P(k) proportional to exp(-|k|/scale)."""
    a = np.exp(-1.0 / scale)
    return float(2 * a / (1 - a * a))


def prob_within(scale: float, k: int) -> float:
    """P(|noise| <= k) for the same distribution."""
    a = np.exp(-1.0 / scale)
    return float(1 - 2 * a ** (k + 1) / (1 + a))


def dp_release(
    frame: pl.DataFrame,
    spec: TableSpec,
    places: pl.DataFrame,
    epsilon: float,
    contributions: int = 1,
    margins: bool = True,
) -> DPRelease:
    """Release one round of leaf counts with epsilon-DP.

    ``places``: the declared leaf admin units (columns = spec.hierarchy) from the gazetteer.
    Every disaggregation must have declared categories in ``spec.categories``."""
    if spec.round and frame[spec.round].n_unique() > 1:
        raise SpecError("a DP release covers one round (the privacy unit is a person per round); split by round")
    undeclared = [d for d in spec.disaggregations if d not in spec.categories]
    if undeclared:
        raise SpecError(f"DP needs declared categories for {undeclared} (from the vocabulary, not the data)")
    h = list(spec.hierarchy)
    missing = [c for c in h if c not in places.columns]
    if missing:
        raise SpecError(f"places must have the hierarchy columns {h}; missing {missing}")
    domain = places.select([pl.col(c).cast(pl.String) for c in h]).unique()
    for d in spec.disaggregations:
        domain = domain.join(pl.DataFrame({d: [str(c) for c in spec.categories[d]]}), how="cross")
    keys = [*h, *spec.disaggregations]
    data = frame.with_columns([pl.col(c).cast(pl.String) for c in keys])
    data = data.group_by(keys).agg(pl.col(spec.value).sum())
    outside = data.join(domain, on=keys, how="anti")
    if outside.height:
        raise SpecError(f"{outside.height} row(s) fall outside the declared places/categories, e.g. {outside.row(0)}")
    leaves = domain.join(data, on=keys, how="left").with_columns(pl.col(spec.value).fill_null(0)).sort(keys)
    noisy, scale = noisy_counts(leaves[spec.value].to_list(), epsilon, contributions)
    leaves = leaves.with_columns(pl.Series(spec.value, np.maximum(noisy, 0)))
    # the round value is public metadata, not data: carry it through unchanged
    if spec.round:
        leaves = leaves.with_columns(pl.lit(frame[spec.round][0]).alias(spec.round))
    cube = build_cube(leaves, spec)
    table = to_output(cube, pl.Series(cube.values, dtype=pl.Int64), {}, margins)
    return DPRelease(table, float(epsilon), 0.0, PRIVACY_UNIT, contributions, scale)
