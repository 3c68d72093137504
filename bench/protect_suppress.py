"""Cost and information loss of linked-table suppression on a generated DTM-like table.

    .venv/bin/python bench/protect_suppress.py                       # 1,000 admin3 x sex x age x 3 rounds
    .venv/bin/python bench/protect_suppress.py --adm3 2000 --rounds 4

Time is reported as a ratio to the baseline of building the same cube of every level and total
without protecting it (mobtrack.protect.cube.build_cube), measured in the same run; information
loss as the share of figures suppressed for each reason, and the share of people whose figures
are hidden. Counts are drawn from a lognormal so that about a tenth of leaf cells are small,
as in DTM village data.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from mobtrack.protect.cube import TableSpec, build_cube
from mobtrack.protect.suppression import suppress


def generate(n_adm3: int, rounds: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    adm3 = np.arange(n_adm3)
    base = pl.DataFrame({"adm1": [f"A{i // 100}" for i in adm3], "adm2": [f"A{i // 10}" for i in adm3],
                         "adm3": [f"A{i}" for i in adm3]})
    cells = base.join(pl.DataFrame({"sex": ["f", "m"]}), how="cross").join(
        pl.DataFrame({"age": ["0-4", "5-17", "18-59", "60+"]}), how="cross")
    level = rng.lognormal(3.5, 1.3, cells.height)
    frames = []
    for r in range(rounds):
        level = level * rng.lognormal(0, 0.15, cells.height)  # populations drift between rounds
        frames.append(cells.with_columns(round=pl.lit(r + 1), value=pl.Series(np.rint(level).astype(np.int64))))
    return pl.concat(frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adm3", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    frame = generate(args.adm3, args.rounds, args.seed)
    spec = TableSpec(hierarchy=["adm1", "adm2", "adm3"], disaggregations=["sex", "age"], round="round")

    t0 = time.perf_counter()
    cube = build_cube(frame, spec)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = suppress(frame, spec)
    t_protect = time.perf_counter() - t0

    c = result.counts
    people = cube.values
    hidden_people = people[result.suppressed].sum() / max(people.sum(), 1)
    print(f"{frame.height:,} leaf rows -> {c['cells']:,} figures (every level, total and round)")
    print(f"suppressed {c['suppressed'] / c['cells']:.2%}: primary {c['primary']:,}, secondary {c['secondary']:,}, "
          f"round change {c['round_change']:,}; people in hidden figures {hidden_people:.2%}")
    print(f"time: protect {t_protect:.2f} s vs building the unprotected cube {t_base:.2f} s, "
          f"ratio {t_protect / t_base:.1f}x")


if __name__ == "__main__":
    main()
