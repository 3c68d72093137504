"""Synthetic mobility-tracking data, for the demo, the tests and the benchmarks.

Everything here is generated (and says so in its operation names): it may be shipped and shown
freely, unlike real DTM data. Figures follow a plausible shape (skewed place sizes, a shock and
slow returns over rounds, households of about six people, sex and age splits that add up).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from mobtrack.model import conform

AGE_BANDS = ["0-4", "5-17", "18-59", "60+"]
AGE_SHARES = np.array([0.17, 0.33, 0.44, 0.06])


def synthetic_gazetteer(countries: list[str], admin1: int = 10, admin2: int = 10, admin3: int = 40) -> pl.DataFrame:
    """A COD-style p-code list (the OCHA global list's columns) for made-up countries."""
    rows = []
    for iso in countries:
        cc = iso[:2]
        for a in range(1, admin1 + 1):
            p1 = f"{cc}{a:02d}"
            rows.append((iso, 1, p1, f"Region {iso} {a}", iso))
            for b in range(1, admin2 + 1):
                p2 = f"{p1}{b:02d}"
                rows.append((iso, 2, p2, f"District {iso} {a}-{b}", p1))
                for c in range(1, admin3 + 1):
                    rows.append((iso, 3, f"{p2}{c:03d}", f"Area {iso} {a}-{b}-{c}", p2))
    return pl.DataFrame(rows, orient="row", schema=["Location", "Admin Level", "P-Code", "Name", "Parent P-Code"])


def synthetic_rounds(places: pl.DataFrame, *, operation: str, country_iso3: str, rounds: int,
                     first_date: date = date(2023, 1, 31), days_between: int = 60, seed: int = 7,
                     assessment_type: str = "BA") -> pl.DataFrame:
    """Canonical records: for each place and round, IDPs and returnees (individuals, households)
    plus IDP individuals by sex and by age band: 10 values per place and round.

    `places` needs `pcode`, `admin_level` and the ancestors' `adm1_pcode`.. `adm3_pcode` columns
    as far as its level goes (a place's own p-code is in its level's column too).
    """
    rng = np.random.default_rng(seed)
    n = places.height
    base = rng.lognormal(mean=7.0, sigma=1.2, size=n)
    shock = rng.integers(0, max(rounds, 1), size=n)
    frames = []
    for r in range(rounds):
        # displacement rises after each place's shock round, then decays as people return
        after = np.clip(r - shock, 0, None)
        idps = np.round(base * (0.6 + 0.9 * (after > 0) * np.exp(-after / 8)) * rng.lognormal(0, 0.08, n)).astype(np.int64)
        returnees = np.round(base * 0.3 * (1 - np.exp(-after / 6)) * rng.lognormal(0, 0.1, n)).astype(np.int64)
        males = rng.binomial(idps, 0.48)
        ages = np.array([rng.multinomial(int(t), AGE_SHARES) for t in idps]) if n < 5000 else _fast_ages(idps, rng)
        cells = [
            ("idps", "individuals", "total", None, None, idps),
            ("idps", "households", "total", None, None, np.maximum(np.round(idps / 5.8), (idps > 0)).astype(np.int64)),
            ("returnees_internal", "individuals", "total", None, None, returnees),
            ("returnees_internal", "households", "total", None, None,
             np.maximum(np.round(returnees / 6.1), (returnees > 0)).astype(np.int64)),
            ("idps", "individuals", "breakdown", "male", None, males),
            ("idps", "individuals", "breakdown", "female", None, idps - males),
        ] + [("idps", "individuals", "breakdown", None, band, ages[:, i]) for i, band in enumerate(AGE_BANDS)]
        when = first_date + timedelta(days=days_between * r)
        for group, unit, role, sex, age, values in cells:
            frames.append(places.with_columns(
                pl.lit(group).alias("population_group"), pl.lit(unit).alias("unit"), pl.lit(role).alias("role"),
                pl.lit(sex, dtype=pl.String).alias("sex"), pl.lit(age, dtype=pl.String).alias("age_band"),
                pl.Series("value", values), pl.lit(r + 1).alias("round_number"), pl.lit(when).alias("reporting_date"),
            ))
    out = pl.concat(frames, how="diagonal_relaxed").with_columns(
        pl.lit(operation).alias("operation"), pl.lit(country_iso3).alias("country_iso3"),
        pl.lit(assessment_type).alias("assessment_type"),
    ).drop([c for c in ("pcode", "name") if c in places.columns])
    return conform(out.sort("round_number", maintain_order=True))


def _fast_ages(totals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multinomial splits for many places at once: sequential binomials (exact, vectorised)."""
    out = np.zeros((totals.size, len(AGE_SHARES)), dtype=np.int64)
    remaining = totals.copy()
    left = 1.0
    for i, share in enumerate(AGE_SHARES[:-1]):
        out[:, i] = rng.binomial(remaining, min(share / left, 1.0))
        remaining -= out[:, i]
        left -= share
    out[:, -1] = remaining
    return out


def leaves_of(gazetteer: pl.DataFrame, country_iso3: str, level: int) -> pl.DataFrame:
    """Places at `level` of a COD-style list with their ancestors' p-code columns, for synthetic_rounds."""
    g = gazetteer.filter(pl.col("Location") == country_iso3)
    parent = dict(zip(g["P-Code"].to_list(), g["Parent P-Code"].to_list(), strict=True))
    leaves = g.filter(pl.col("Admin Level") == level)["P-Code"].to_list()
    columns: dict[str, list] = {f"adm{lv}_pcode": [] for lv in range(1, level + 1)}
    for code in leaves:
        chain, current = {}, code
        for lv in range(level, 0, -1):
            chain[lv] = current
            current = parent.get(current)
        for lv in range(1, level + 1):
            columns[f"adm{lv}_pcode"].append(chain.get(lv))
    return pl.DataFrame(columns).with_columns(pl.lit(level, dtype=pl.Int8).alias("admin_level"))


def write_csv(records: pl.DataFrame, path) -> None:
    """Records as a mobtrack CSV with only the columns that hold something (what a team's file looks like)."""
    records.select([c for c in records.columns if records[c].null_count() < records.height]).write_csv(path)
