"""Disclosure risk of microdata (one row per person or household) and the helpers that lower it.

Measures, on the quasi-identifiers a dataset declares (the columns an outsider could know:
place, sex, age band, household size...):

* k-anonymity: the size of the smallest group of records sharing all quasi-identifiers;
* l-diversity: the fewest distinct values of a sensitive column within such a group;
* individual re-identification risk as sdcMicro computes it (Franconi & Polettini): with sample
  frequency f and estimated population frequency F (sum of sampling weights), p = f/F and
  f=1: p/(1-p) ln(1/p);  f=2: p/(1-p) - (p/(1-p))^2 ln(1/p);  f>=3: p/(f-(1-p));  p=1: 1/f.
  Global risk = the expected share of records re-identified = mean individual risk.

A missing quasi-identifier (locally suppressed) is treated as its own value, which never makes a
group look larger than it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

K_MIN, L_MIN, GLOBAL_RISK_MAX = 5, 2, 0.03


def _check(frame: pl.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"columns not in the microdata: {missing}")
    if not cols:
        raise ValueError("declare at least one quasi-identifier")


def _key(qi: Sequence[str]) -> list[pl.Expr]:
    return [pl.col(c).cast(pl.String).fill_null("\u0000suppressed").alias(c) for c in qi]


def class_sizes(frame: pl.DataFrame, qi: Sequence[str], weight: str | None = None) -> pl.DataFrame:
    """Per record: f (records sharing its quasi-identifiers) and F (their summed weights)."""
    _check(frame, qi)
    keyed = frame.with_columns(_key(qi))
    w = pl.col(weight).cast(pl.Float64) if weight else pl.lit(1.0)
    return keyed.select(
        pl.len().over(qi).cast(pl.Float64).alias("f"),
        w.sum().over(qi).alias("F"),
    )


def k_anonymity(frame: pl.DataFrame, qi: Sequence[str]) -> int:
    if frame.height == 0:
        return 0
    return int(class_sizes(frame, qi)["f"].min())


def l_diversity(frame: pl.DataFrame, qi: Sequence[str], sensitive: str) -> int:
    _check(frame, [*qi, sensitive])
    if frame.height == 0:
        return 0
    return int(frame.with_columns(_key(qi)).group_by(qi).agg(pl.col(sensitive).n_unique())[sensitive].min())


def individual_risk(frame: pl.DataFrame, qi: Sequence[str], weight: str | None = None) -> pl.Series:
    sizes = class_sizes(frame, qi, weight)
    if weight and (frame[weight].null_count() or (frame[weight] < 1).any()):
        raise ValueError(f"sampling weights in {weight!r} must be present and at least 1")
    f, big_f = pl.col("f"), pl.col("F")
    p = (f / big_f).clip(upper_bound=1.0)
    q = 1 - p
    odds = p / q
    risk = (
        pl.when(p >= 1 - 1e-12).then(1 / f)
        .when(f == 1).then(odds * (1 / p).log())
        .when(f == 2).then(odds - odds * odds * (1 / p).log())
        .otherwise(p / (f - q))
    )
    return sizes.with_columns(p=p).select(risk.clip(0.0, 1.0).alias("risk"))["risk"]


def global_risk(frame: pl.DataFrame, qi: Sequence[str], weight: str | None = None) -> float:
    if frame.height == 0:
        return 0.0
    return float(individual_risk(frame, qi, weight).mean())


# --- recoding and local suppression -----------------------------------------------------------

def recode_bands(frame: pl.DataFrame, column: str, breaks: Sequence[float], labels: Sequence[str] | None = None
                 ) -> pl.DataFrame:
    """Replace a number by its band; ``breaks`` [18, 60] gives bands <18, 18-60, 60+ (left-closed)."""
    breaks = sorted(breaks)
    labels = list(labels) if labels else [f"<{breaks[0]:g}", *[f"{a:g}-{b:g}" for a, b in zip(breaks, breaks[1:], strict=False)],
                                          f"{breaks[-1]:g}+"]
    if len(labels) != len(breaks) + 1:
        raise ValueError(f"{len(breaks)} breaks make {len(breaks) + 1} bands, got {len(labels)} labels")
    expr = pl.when(pl.col(column).is_null()).then(None)
    for b, label in zip(breaks, labels, strict=False):
        expr = expr.when(pl.col(column) < b).then(pl.lit(label))
    return frame.with_columns(expr.otherwise(pl.lit(labels[-1])).alias(column))


def recode_categories(frame: pl.DataFrame, column: str, mapping: Mapping[str, str]) -> pl.DataFrame:
    """Merge rare categories into broader ones; values not in ``mapping`` stay."""
    return frame.with_columns(pl.col(column).cast(pl.String).replace(dict(mapping)))


def top_code(frame: pl.DataFrame, column: str, maximum: float) -> pl.DataFrame:
    """Cap a number (household size 25 -> 12) so extreme values stop being unique."""
    return frame.with_columns(pl.min_horizontal(pl.col(column), pl.lit(maximum)).alias(column))


def local_suppression(frame: pl.DataFrame, qi: Sequence[str], k: int = K_MIN,
                      importance: Sequence[str] | None = None) -> tuple[pl.DataFrame, dict]:
    """Blank quasi-identifiers of records in groups smaller than k, least important column first
    (``importance`` lists the most important first). Records still in too-small groups once all
    their quasi-identifiers are blank are removed. Returns the frame and what was done."""
    _check(frame, qi)
    order = list(reversed(importance)) if importance else list(qi)[::-1]
    if sorted(order) != sorted(qi):
        raise ValueError("importance must list exactly the quasi-identifiers")
    out = frame
    blanked = 0
    for col in order:
        small = class_sizes(out, qi)["f"] < k
        if not small.any():
            break
        blanked += int((small & out[col].is_not_null()).sum())
        out = out.with_columns(pl.when(small).then(None).otherwise(pl.col(col)).alias(col))
    still = class_sizes(out, qi)["f"] < k
    return out.filter(~still), {"values_blanked": blanked, "records_removed": int(still.sum())}


@dataclass(frozen=True)
class RiskReport:
    records: int
    k: int
    l_div: int | None  # None when no sensitive column is declared
    global_risk: float
    records_at_risk: int  # in groups smaller than K_MIN

    @property
    def passes(self) -> bool:
        return self.k >= K_MIN and (self.l_div is None or self.l_div >= L_MIN) and self.global_risk < GLOBAL_RISK_MAX

    def problems(self) -> list[str]:
        out = []
        if self.k < K_MIN:
            out.append(f"k-anonymity {self.k} < {K_MIN} ({self.records_at_risk} records in smaller groups)")
        if self.l_div is not None and self.l_div < L_MIN:
            out.append(f"l-diversity {self.l_div} < {L_MIN}")
        if self.global_risk >= GLOBAL_RISK_MAX:
            out.append(f"global re-identification risk {self.global_risk:.2%} >= {GLOBAL_RISK_MAX:.0%}")
        return out


def assess(frame: pl.DataFrame, qi: Sequence[str], sensitive: str | None = None, weight: str | None = None
           ) -> RiskReport:
    sizes = class_sizes(frame, qi)["f"]
    return RiskReport(
        records=frame.height,
        k=k_anonymity(frame, qi),
        l_div=l_diversity(frame, qi, sensitive) if sensitive else None,
        global_risk=global_risk(frame, qi, weight),
        records_at_risk=int((sizes < K_MIN).sum()),
    )
