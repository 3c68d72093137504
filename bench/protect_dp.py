"""Accuracy of mobtrack's DP counts against the integer Laplace mechanism's known figures.

    .venv/bin/python bench/protect_dp.py                  # epsilon 1, 20,000 draws
    .venv/bin/python bench/protect_dp.py --epsilon 0.5 --draws 50000

Draws noise through the same code path a release uses (mobtrack.protect.dp.noisy_counts, which
calls OpenDP's make_laplace on integers) on 20,000 integer counts and reports the mean absolute
error and the share of errors within +-3, each as a ratio to the theoretical value of the
discrete Laplace with scale 1/epsilon (at epsilon 1: E|X| = 0.851, P(|X|<=3) = 0.973).
Counts are drawn well above zero so that the non-negativity post-processing does not enter.
It also times the draw against numpy's geometric difference sampler (not private: floating-point
sampling leaks through its low bits; shown only as the speed baseline).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mobtrack.protect.dp import expected_abs_error, noisy_counts, prob_within


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--draws", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    counts = rng.integers(50, 5000, size=args.draws)
    t0 = time.perf_counter()
    noisy, scale = noisy_counts(counts.tolist(), args.epsilon)
    t_opendp = time.perf_counter() - t0
    err = noisy - counts

    t0 = time.perf_counter()
    a = np.exp(-1 / scale)
    _ = rng.geometric(1 - a, args.draws) - rng.geometric(1 - a, args.draws)
    t_numpy = time.perf_counter() - t0

    mae, within3 = float(np.abs(err).mean()), float((np.abs(err) <= 3).mean())
    mae_theory, within3_theory = expected_abs_error(scale), prob_within(scale, 3)
    print(f"epsilon {args.epsilon:g}, {args.draws:,} integer counts, noise scale {scale:g}")
    print(f"mean absolute error   {mae:.4f}   theory {mae_theory:.4f}   ratio {mae / mae_theory:.3f}")
    print(f"errors within +-3     {within3:.2%}  theory {within3_theory:.2%}  ratio {within3 / within3_theory:.3f}")
    print(f"mean error (bias)     {float(err.mean()):+.4f}")
    print(f"time: OpenDP {t_opendp * 1000:.1f} ms vs numpy (non-private) {t_numpy * 1000:.1f} ms, "
          f"ratio {t_opendp / max(t_numpy, 1e-9):.1f}x")
    if args.epsilon == 1.0:
        ok = abs(mae - 0.85) <= 0.05 and within3 >= 0.97
        print(f"acceptance (epsilon 1: MAE 0.85 +- 0.05, >= 97% within +-3): {'PASS' if ok else 'FAIL'}")
        raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
