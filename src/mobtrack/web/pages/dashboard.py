"""Operation dashboard: choropleth at admin1/admin2 for a chosen round, headline figures and their change,
trend, top places and breakdowns."""

from __future__ import annotations

import json
import os

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.pages import _figures as data
from mobtrack.web.pages import _forecast
from mobtrack.web.pages import _svg as svg
from mobtrack.web.pages._render import render, translator
from mobtrack.web.services import audit
from mobtrack.web.services.principal import Principal

router = APIRouter()
TOP = 10
BREAKDOWN_TITLES = {"sex": "Sex", "age_band": "Age", "reason": "Reason for displacement",
                    "shelter_type": "Shelter type", "displacement_period": "Time since displacement"}


def pick_round(rounds: pl.DataFrame, wanted: int | None) -> dict | None:
    if wanted is not None:
        found = rounds.filter(pl.col("round") == wanted)
        return found.row(0, named=True) if found.height else None
    return rounds.row(-1, named=True)


def with_change(frame: pl.DataFrame, rounds: list[int], current: int) -> pl.DataFrame:
    """The round's rows with the previous visible round's value and the change (null where either is hidden)."""
    here = frame.filter(pl.col("round") == current)
    position = rounds.index(current)
    if position == 0:
        return here.with_columns(pl.lit(None, pl.Int64).alias("previous"), pl.lit(None, pl.Int64).alias("change"))
    before = frame.filter(pl.col("round") == rounds[position - 1]).select("pcode", pl.col("value").alias("previous"))
    return here.join(before, on="pcode", how="left").with_columns(
        (pl.col("value") - pl.col("previous")).alias("change"))


def map_view(conn: Connection, view: data.View, level: int, rows: pl.DataFrame) -> dict:
    outline = svg.outline(conn, view.country_iso3, level)
    by_code = {r["pcode"]: r for r in rows.iter_rows(named=True)}
    bounds = svg.classes([r["value"] for r in by_code.values()])
    shapes = []
    for shape in outline.shapes:
        row = by_code.get(shape.pcode)
        shapes.append({"pcode": shape.pcode, "name": shape.name, "d": shape.path,
                       "value": row["value"] if row else None, "suppressed": bool(row and row["suppressed"]),
                       "fill": svg.colour(row["value"] if row else None, bounds, bool(row and row["suppressed"]))})
    lower = [0] + [b + 1 for b in bounds[:-1]] if bounds else []  # no figure at this level: no legend
    offset = len(svg.PALETTE) - len(bounds)
    legend = [{"from": lo, "to": hi, "fill": svg.PALETTE[offset + i]} for i, (lo, hi) in enumerate(zip(lower, bounds, strict=True))]
    return {"shapes": shapes, "height": outline.height, "width": svg.WIDTH, "legend": legend,
            "has_suppressed": any(s["suppressed"] for s in shapes),
            "tiles": svg.basemap_tiles(outline, os.environ.get("MOBTRACK_BASEMAP_URL")),
            "attribution": os.environ.get("MOBTRACK_BASEMAP_ATTRIBUTION", "")}


def trend_chart(series: list[dict], t) -> dict:
    """Data for the trend chart: uPlot reads `data`; the SVG fallback is drawn from `points`."""
    dates = [r["reporting_date"] for r in series]
    values = [r["value"] for r in series]
    shown = [v for v in values if v is not None]
    width, height, pad = 640, 220, 44
    points = []
    if shown:
        lo, hi = 0, max(shown) or 1
        step = (width - pad - 10) / max(len(values) - 1, 1)
        points = [(round(pad + i * step, 1), round(height - 24 - (v - lo) / (hi - lo) * (height - 40), 1))
                  for i, v in enumerate(values) if v is not None]
    payload = {"x": [d.isoformat() if d else None for d in dates], "y": values,
               "rounds": [r["round"] for r in series], "label": t("People displaced"),
               "x_label": t("Reporting date")}
    return {"json": json.dumps(payload), "points": " ".join(f"{x},{y}" for x, y in points), "width": width,
            "height": height, "max": max(shown) if shown else None, "rows": series}


def choose(conn: Connection, view: data.View, assessment_type: str | None, round_number: int | None):
    """The visible rounds of one assessment type (the latest round's by default) and the chosen round."""
    everything = data.rounds(conn, view)
    if everything.is_empty():
        return None, None, []
    kinds = sorted(everything["assessment_type"].unique().to_list())
    kind = (assessment_type or "").upper() if (assessment_type or "").upper() in kinds else \
        everything.row(-1, named=True)["assessment_type"]
    rounds = everything.filter(pl.col("assessment_type") == kind)
    return rounds, pick_round(rounds, round_number), kinds


def breakdowns_of(conn: Connection, view: data.View, kind: str, round_number: int, t, level: int = 0,
                  pcode: str | None = None) -> list[dict]:
    out = []
    for dim, title in BREAKDOWN_TITLES.items():
        rows = data.breakdown(conn, view, kind, round_number, dim, level=level, pcode=pcode)
        if rows.height:
            shown = [r for r in rows["value"].to_list() if r is not None]
            out.append({"dim": dim, "title": t(title), "rows": rows.to_dicts(), "max": max(shown) if shown else 1})
    return out


@router.get("/dashboard", name="dashboard")
def dashboard(request: Request, operation: str, round: int | None = None,
              level: int = Query(1, ge=1, le=2), assessment_type: str | None = None,
              conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    t = translator(request)
    view = data.find_view(conn, user, operation)
    rounds, chosen, kinds = choose(conn, view, assessment_type, round) if view else (None, None, [])
    if chosen is None:
        # The same answer whether the operation does not exist or has nothing visible yet.
        return render(request, "error.html", status_code=404,
                      message=t("No round of this operation is available to you."))
    kind = chosen["assessment_type"]
    round_numbers = rounds["round"].to_list()
    table = data.level_figures(conn, view, kind)
    national = with_change(table.filter(pl.col("level") == 0), round_numbers, chosen["round"])
    places = with_change(table.filter(pl.col("level") == level), round_numbers, chosen["round"])
    top = places.filter(pl.col("value").is_not_null()).sort("value", descending=True).head(TOP)
    if view.unprotected:
        audit.record(conn, user, "read-unprotected", target=f"dashboard/{operation}/{kind}/{chosen['round']}",
                     client=client_of(request), alone=True)
    context = dict(
        view=view, rounds=rounds.to_dicts(), chosen=chosen, level=level, kinds=kinds, kind=kind,
        headline=national.to_dicts()[0] if national.height else None,
        places_count=places.filter(pl.col("value").is_not_null() | pl.col("suppressed")).height,
        map=map_view(conn, view, level, places), top=top.to_dicts(),
        trend=trend_chart(data_series(table), t),
        breakdowns=breakdowns_of(conn, view, kind, chosen["round"], t),
        **forecast_of(conn, view, level, kind, t),
    )
    template = "_partials/dashboard_body.html" if request.headers.get("x-partial") else "dashboard.html"
    return render(request, template, nav="home", **context)


def forecast_of(conn: Connection, view: data.View, level: int, kind: str, t) -> dict:
    """The forecast panel: fans of the largest places, the map of expected change, the warnings."""
    panel = _forecast.panel(conn, view, level, kind, t)
    shown = panel["places"] and _forecast.change_map(conn, view, level, panel["places"])
    return {"forecast": panel, "forecast_map": shown or None}


def data_series(table: pl.DataFrame) -> list[dict]:
    return table.filter(pl.col("level") == 0).sort("round").to_dicts()
