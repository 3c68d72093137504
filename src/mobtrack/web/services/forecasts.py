"""Forecasts of an operation's places, for the API and the dashboard, from what the caller may see.

The series are the figures `services.figures.figures` gives this view: published rounds only for
the public, and small-cell suppressed unless the caller may read raw counts. A forecast is therefore
a function of visible figures only and cannot reveal a hidden one. Suppressed values are gaps; a
place whose latest figure is suppressed (or missing) is not forecast, since its forecast would start
from an older figure as if it were today's.

Bounded compute: at most MAX_SERIES places (the largest by latest figure) and every candidate
model but the two costliest, the global gradient-boosting model (refitted per origin) and ETS
(statsforecast's AutoETS): together about 90% of the CPU time on the demo's 74 districts (4.3 s with
every model, 0.5 s without these two). bench/web_forecasts.py measures a request at the cap. Results are cached by the data version (the round versions
used), so a new or corrected round is a new key and the first request after it recomputes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import Connection

from mobtrack.foresight.candidates import ALL_MODELS
from mobtrack.foresight.frame import ForesightInputError
from mobtrack.foresight.places import MIN_HISTORY, forecast_places
from mobtrack.web.services import catalogue
from mobtrack.web.services import figures as figure_service
from mobtrack.web.services.cache import LRU
from mobtrack.web.services.catalogue import View

MAX_SERIES = 150
MODELS = tuple(m for m in ALL_MODELS if m not in ("GBM", "GBMNaive", "ETS"))
FREQS = ("W", "M", "Y")
_CACHE: LRU[Forecasts] = LRU(64)


@dataclass
class Forecasts:
    operation: str
    assessment_type: str | None
    level: int
    freq: str
    horizon: int
    k: int
    rise: float
    threshold: float | None
    protected: bool
    cutoff: date | None = None
    backtest_cutoffs: list[date] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)
    places: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    brier: float | None = None
    brier_reference: float | None = None
    brier_scored: int = 0
    note: str | None = None


def latest_kind(rounds: pl.DataFrame) -> str | None:
    """The assessment type of the latest visible round (what the dashboard opens on)."""
    if rounds.is_empty():
        return None
    return rounds.sort(["reporting_date", "round"], nulls_last=False).row(-1, named=True)["assessment_type"]


def forecasts(conn: Connection, view: View, level: int, group: str = "idps", unit: str = "individuals",
              assessment_type: str | None = None, freq: str = "M", horizon: int = 3, k: int | None = None,
              rise: float = 0.25, threshold: float | None = None) -> Forecasts:
    """Forecasts, skill and warnings for the places at `level` of one assessment type (cached).

    A place's warning is the probability that a reported figure exceeds `threshold` (the same for every
    place) or, without one, its latest figure times (1 + rise), within the next k periods."""
    k = horizon if k is None else k
    visible = catalogue.rounds(conn, view)
    kind = assessment_type.upper() if assessment_type else latest_kind(visible)
    family = visible.filter(pl.col("assessment_type") == kind) if kind else visible.clear()
    out = Forecasts(view.operation, kind, level, freq, horizon, k, rise, threshold, not view.unprotected)
    if family.is_empty():
        out.note = "no visible round" + (f" of assessment type {kind}" if kind else "")
        return out
    key = (str(conn.engine.url), view.operation, kind, level, group, unit, freq, horizon, k, rise, threshold,
           view.unprotected,
           tuple(family.sort("version_id")["version_id"].to_list()))
    return _CACHE.get(key, lambda: _compute(conn, view, family, out, group, unit))


def _compute(conn: Connection, view: View, family: pl.DataFrame, out: Forecasts, group: str, unit: str) -> Forecasts:
    rows, _ = figure_service.figures(conn, view, out.level, group, unit, assessment_type=out.assessment_type)
    rows = rows.filter(pl.col("reporting_date").is_not_null())
    out.rounds = sorted(family["round"].to_list())
    if rows.is_empty():
        out.note = "no figures at this level"
        return out
    last = family.sort(["reporting_date", "round"]).row(-1, named=True)["round"]
    names = dict(rows.select("pcode", "name").unique("pcode").iter_rows())
    now = rows.filter(pl.col("round") == last).select("pcode", "value", "suppressed")
    reported = rows.filter(pl.col("value").is_not_null()).group_by("pcode").agg(pl.len().alias("n"))
    eligible = (now.filter(pl.col("value").is_not_null()).join(reported, on="pcode")
                .filter(pl.col("n") >= MIN_HISTORY).sort(["value", "pcode"], descending=[True, False]))
    latest = {r["pcode"]: r for r in now.iter_rows(named=True)}
    fit = set(eligible["pcode"].to_list())
    for pcode in sorted(names):
        here = latest.get(pcode)
        if here is None:
            reason = "not in the latest round"
        elif here["suppressed"]:
            reason = "latest figure suppressed"
        elif here["value"] is None:
            reason = "no latest figure"
        elif pcode not in fit:
            reason = f"fewer than {MIN_HISTORY} reported rounds"
        else:
            continue
        out.skipped.append({"pcode": pcode, "name": names[pcode], "reason": reason})
    for pcode in eligible["pcode"][MAX_SERIES:].to_list():
        out.skipped.append({"pcode": pcode, "name": names[pcode], "reason": f"beyond the {MAX_SERIES} largest places"})
    chosen = eligible["pcode"].head(MAX_SERIES)
    # Two rounds reported on one day (a re-survey, a split round): the later round is the figure of that day.
    data = (rows.filter(pl.col("pcode").is_in(chosen.implode()), pl.col("value").is_not_null()).sort("round")
            .unique(["pcode", "reporting_date"], keep="last", maintain_order=True)
            .select(pl.col("pcode").alias("series_id"), pl.col("reporting_date").alias("date"),
                    pl.col("value").cast(pl.Float64)))
    if data.is_empty():
        out.note = f"no place has {MIN_HISTORY} or more reported rounds with a visible latest figure"
        return out
    try:
        given = None if out.threshold is None else dict.fromkeys(chosen.to_list(), out.threshold)
        result = forecast_places(data, out.freq, out.horizon, k=out.k, rise=out.rise, thresholds=given, models=MODELS)
    except ForesightInputError as exc:
        out.note = str(exc)
        return out
    out.cutoff, out.backtest_cutoffs = result.cutoff, result.backtest_cutoffs
    out.brier, out.brier_reference, out.brier_scored = (_number(result.brier), _number(result.brier_reference),
                                                        result.brier_scored)
    history = data.sort("date").group_by("series_id", maintain_order=True).agg(
        pl.struct("date", "value").alias("history"), pl.col("value").last().alias("latest"),
        pl.col("date").last().alias("latest_date"))
    skill = {r["series_id"]: r for r in result.skill.iter_rows(named=True)}
    bands = result.predictions.sort("series_id", "date").group_by("series_id", maintain_order=True).agg(
        pl.col("model").first(), pl.struct("date", "point", "lo80", "hi80", "lo95", "hi95").alias("forecasts"))
    by_id = {r["series_id"]: r for r in bands.iter_rows(named=True)}
    for h in history.iter_rows(named=True):
        pcode, band = h["series_id"], by_id.get(h["series_id"])
        if band is None:
            continue
        s = skill.get(pcode)
        out.places.append({
            "pcode": pcode, "name": names[pcode], "model": band["model"], "latest": h["latest"],
            "latest_date": h["latest_date"],
            "history": [{"date": p["date"], "value": p["value"]} for p in h["history"]],
            "forecasts": [{k: (_number(v) if k != "date" else v) for k, v in f.items()} for f in band["forecasts"]],
            "skill": None if s is None else {k: (_number(v) if k != "scored" else v) for k, v in s.items()
                                             if k != "series_id"},
        })
    out.places.sort(key=lambda p: (-p["latest"], p["pcode"]))
    for w in result.warnings.iter_rows(named=True):
        out.warnings.append({"pcode": w["series_id"], "name": names[w["series_id"]], "latest": w["latest"],
                             "threshold": _number(w["threshold"]), "k": w["k"],
                             "probability": _number(w["probability"]), "brier": _number(w["brier"]),
                             "scored": w["scored"]})
    out.warnings.sort(key=lambda w: (-(w["probability"] or 0.0), w["pcode"]))
    return out


def _number(value) -> float | None:
    """JSON has no NaN or infinity: an open bound (too few backtest errors) or an unknown is null."""
    if value is None:
        return None
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None
