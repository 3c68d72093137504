"""Home: every operation the visitor may see, with its latest total, the change and a sparkline."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.i18n import LANGUAGES
from mobtrack.web.pages import _figures as data
from mobtrack.web.pages._render import LANG_COOKIE, render, translator
from mobtrack.web.pages._svg import sparkline
from mobtrack.web.services import audit
from mobtrack.web.services.principal import Principal

router = APIRouter()


def national_series(frame) -> list[dict]:
    """Level-0 figures per round, oldest first, as plain rows for templates and charts."""
    return frame.filter(frame["level"] == 0).sort("round").to_dicts()


def summary(conn: Connection, view: data.View, t) -> dict | None:
    rounds = data.rounds(conn, view)
    if rounds.is_empty():
        return None
    latest = rounds.row(-1, named=True)
    series = national_series(data.level_figures(conn, view, latest["assessment_type"], levels=(0,)))
    current = next((r for r in series if r["round"] == latest["round"]), None)
    previous = series[-2] if len(series) > 1 and current is series[-1] else None
    change = None
    if current and previous and current["value"] is not None and previous["value"] is not None:
        change = current["value"] - previous["value"]
    return {
        "view": view, "latest": latest, "total": current["value"] if current else None,
        "suppressed": bool(current and current["suppressed"]), "previous": previous, "change": change,
        "change_pct": (change / previous["value"] * 100) if change is not None and previous["value"] else None,
        "rounds": rounds.height,
        "spark": sparkline([r["value"] for r in series],
                           label=t("Trend of people displaced over {n} rounds", n=len(series))),
    }


@router.get("/", name="home")
def home(request: Request, conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    t = translator(request)
    views = data.operations(conn, user)
    items = [s for s in (summary(conn, v, t) for v in views) if s is not None]
    raw = [v.operation for v in views if v.unprotected]
    if raw:  # national totals without suppression are still a sensitive read: logged like any other
        audit.record(conn, user, "read-unprotected", target="home", client=client_of(request),
                     details={"operations": raw}, alone=True)
    return render(request, "home.html", nav="home", operations=items)


@router.post("/language", name="set_language")
def set_language(lang: str = Form(...), next: str = Form("/")):
    # Only local paths: the switcher must not become an open redirect.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
