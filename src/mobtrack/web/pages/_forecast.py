"""The forecast panel of the dashboard and location pages: fan charts, a map of expected change, warnings.

Everything comes from mobtrack.web.services.forecasts (the API's service), so the panel shows the same
forecasts, made from the same visible figures, as /api/v1/operations/{op}/forecasts. Fans are drawn on
the server as SVG (the page works without JavaScript); mobtrack.js swaps them for interactive uPlot
charts. Forecast figures are rounded to two significant digits: more would be false precision.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import date

from sqlalchemy import Connection

from mobtrack.web.pages import _svg as svg
from mobtrack.web.services import forecasts as service
from mobtrack.web.services.catalogue import View

log = logging.getLogger("mobtrack.web")
FANS = 12  # fan charts on the dashboard (the largest places); every place has its own on its page
WARNINGS = 10
HORIZON, FREQ, RISE = 3, "M", 0.25
# Diverging ColorBrewer PuOr (5 classes), readable by colour-blind people: fall purple, rise orange.
CHANGE_PALETTE = ["#5e3c99", "#b2abd2", "#f7f7f7", "#fdb863", "#e66101"]
CHANGE_BREAKS = [-25, -10, 10, 25]  # percent; the middle class is "about the same"
NOT_FORECAST = "#bdbdbd"  # darker than the palette's near-white middle, so "no change" and "no forecast" differ
W, H, PAD_L, PAD_B, PAD_T = 320, 150, 46, 20, 8


def rounded(value: float | None, digits: int = 2) -> float | None:
    if value is None or value == 0:
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def change_class(pct: float) -> int:
    return sum(pct > b for b in CHANGE_BREAKS)


def panel(conn: Connection, view: View, level: int, kind: str, t, pcode: str | None = None) -> dict:
    """Template data; `pcode` narrows it to one place (the location page)."""
    try:
        result = service.forecasts(conn, view, level, assessment_type=kind, freq=FREQ, horizon=HORIZON, rise=RISE)
    except Exception:  # noqa: BLE001 -- the reported figures above must still be shown; the cause is logged
        log.exception("forecast panel failed for %s level %s", view.operation, level)
        return {"failed": True, "places": [], "fans": [], "warnings": [], "skipped": [], "horizon": HORIZON,
                "rise": round(100 * RISE), "level": level, "end": None, "result": None}
    places = [p for p in result.places if pcode is None or p["pcode"] == pcode]
    warnings = [w for w in result.warnings if (pcode is None or w["pcode"] == pcode)
                and w["probability"] is not None]
    shown = places[:FANS] if pcode is None else places
    return {
        "failed": False, "result": result, "places": [_row(p) for p in places], "fans": [fan(p, t) for p in shown],
        "warnings": [{**w, "threshold": rounded(w["threshold"]), "percent": round(100 * w["probability"])}
                     for w in warnings[:WARNINGS]],
        "skipped": [s for s in result.skipped if pcode is None or s["pcode"] == pcode],
        "horizon": HORIZON, "rise": round(100 * RISE), "level": level,
        "end": places[0]["forecasts"][-1]["date"] if places else None,
    }


def _row(place: dict) -> dict:
    last = place["forecasts"][-1]
    skill = place["skill"] or {}
    pct = 100 * (last["point"] - place["latest"]) / place["latest"] if place["latest"] else None
    return {"pcode": place["pcode"], "name": place["name"], "latest": place["latest"],
            "point": rounded(last["point"]), "lo80": rounded(last["lo80"]), "hi80": rounded(last["hi80"]),
            "lo95": rounded(last["lo95"]), "hi95": rounded(last["hi95"]), "change": pct, "model": place["model"],
            "relative_mae": skill.get("relative_mae"), "scored": skill.get("scored", 0)}


def change_map(conn: Connection, view: View, level: int, rows: list[dict]) -> dict:
    """Choropleth of the expected change (forecast at the horizon's end against the latest figure)."""
    outline = svg.outline(conn, view.country_iso3, level)
    by_code = {r["pcode"]: r for r in rows}
    shapes = []
    for shape in outline.shapes:
        row = by_code.get(shape.pcode)
        pct = row["change"] if row else None
        shapes.append({"pcode": shape.pcode, "name": shape.name, "d": shape.path, "change": pct,
                       "row": row, "fill": NOT_FORECAST if pct is None else CHANGE_PALETTE[change_class(pct)]})
    return {"shapes": shapes, "height": outline.height, "width": svg.WIDTH, "palette": CHANGE_PALETTE,
            "breaks": CHANGE_BREAKS, "no_data": NOT_FORECAST}


def fan(place: dict, t) -> dict:
    """One place's fan chart: uPlot reads `json`; the SVG fallback is drawn from the polygons here."""
    hist, fc = place["history"], place["forecasts"]
    xs = [_day(h["date"]) for h in hist] + [_day(f["date"]) for f in fc]
    finite = [h["value"] for h in hist] + [v for f in fc for v in (f["point"], f["hi80"], f["hi95"]) if v is not None]
    top = max(finite) * 1.1 or 1.0
    x0, x1 = min(xs), max(xs)

    def px(day: int) -> float:
        return round(PAD_L + (day - x0) / max(x1 - x0, 1) * (W - PAD_L - 6), 1)

    def py(value: float | None) -> float:
        v = top if value is None else min(value, top)  # an open bound runs off the top
        return round(H - PAD_B - v / top * (H - PAD_B - PAD_T), 1)

    start = (_day(place["latest_date"]), place["latest"])
    fx = [start[0]] + [_day(f["date"]) for f in fc]

    def band(lo: str, hi: str) -> str:
        upper = [(px(x), py(v)) for x, v in zip(fx, [start[1]] + [f[hi] for f in fc], strict=True)]
        lower = [(px(x), py(v)) for x, v in zip(fx, [start[1]] + [f[lo] for f in fc], strict=True)]
        return " ".join(f"{x},{y}" for x, y in upper + lower[::-1])

    payload = {"x": xs, "history": [h["value"] for h in hist] + [None] * len(fc),
               "point": [None] * (len(hist) - 1) + [place["latest"]] + [f["point"] for f in fc],
               **{k: [None] * (len(hist) - 1) + [place["latest"]] + [f[k] for f in fc]
                  for k in ("lo80", "hi80", "lo95", "hi95")},
               "labels": {"history": t("Reported"), "point": t("Forecast"), "b80": t("80% interval"),
                          "b95": t("95% interval"), "x": t("Date")}}
    return {
        "pcode": place["pcode"], "name": place["name"], "model": place["model"], "json": json.dumps(payload),
        "width": W, "height": H, "top": rounded(top), "band95": band("lo95", "hi95"), "band80": band("lo80", "hi80"),
        "history": " ".join(f"{px(_day(h['date']))},{py(h['value'])}" for h in hist),
        "forecast": " ".join(f"{px(x)},{py(v)}" for x, v in zip(fx, [start[1]] + [f["point"] for f in fc],
                                                                   strict=True)),
        "cut_x": px(start[0]), "open": any(f["hi95"] is None or f["hi80"] is None for f in fc),
        "periods": [{"date": f["date"], **{k: rounded(f[k]) for k in ("point", "lo80", "hi80", "lo95", "hi95")}}
                    for f in fc],
        "first": hist[0]["date"], "end": fc[-1]["date"], "skill": place["skill"],
    }


def _day(value: date) -> int:
    """Seconds since the epoch at midnight UTC (uPlot's time scale)."""
    return (value - date(1970, 1, 1)).days * 86400
