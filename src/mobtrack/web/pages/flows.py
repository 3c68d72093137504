"""Flows: origin-destination corridors as a flow map, an OD matrix, a Sankey diagram and a table of the
top corridors with net flows and the change since the compared period.

Everything comes from mobtrack.web.services.flows, which the API's /api/v1/od uses too: DTM counts are
protected for whoever may not read raw figures, and hidden corridors are drawn nowhere. The page is a
plain GET form and server-rendered SVG; static/flows.js only adds highlighting between the views.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from mobtrack.stats.od import ODQuery
from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.errors import ApiError
from mobtrack.web.pages import _flowviews as views
from mobtrack.web.pages._render import render, translator
from mobtrack.web.services import audit
from mobtrack.web.services import flows as service
from mobtrack.web.services.flows import month, year
from mobtrack.web.services.principal import Principal

router = APIRouter()
TOP = 15


def source_labels(t) -> dict[str, str]:
    return {"fm": t("DTM flow monitoring"), "dtm": t("DTM IDP origins"), "undesa": t("UN DESA migrant stock"),
            "unhcr": t("UNHCR refugees and others"), "worldbank": t("World Bank bilateral migration")}


def level_labels(t) -> dict[str, str]:
    return {"country": t("Countries"), "1": t("Admin 1"), "2": t("Admin 2")}


def measure_labels(t) -> dict[str, str]:
    return {"refugees": t("Refugees"), "asylum_seekers": t("Asylum-seekers"),
            "oip": t("Others in need of protection"), "returned_refugees": t("Returned refugees"),
            "stateless": t("Stateless people"), "ooc": t("Others of concern")}


def _rows(frame, located) -> list[dict]:
    out = []
    for r in frame.to_dicts():
        o, d = located.get(r["origin"]), located.get(r["destination"])
        out.append({**r, "origin_name": o.name if o else r["origin"],
                    "destination_name": d.name if d else r["destination"],
                    "key": f"{r['origin']}>{r['destination']}", "raw": raw(r["value"])})
    return out


def raw(value: float | None) -> str:
    """The exact value for data attributes (scripts and tests read it): no rounding, no grouping."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@router.get("/flows", name="flows")
def flows_page(request: Request, source: str = "fm", year_: str | None = Query(None, alias="year"),
               date_from: str | None = Query(None, alias="from"), date_to: str | None = Query(None, alias="to"),
               level: str = "country", country: str | None = None, top: int = Query(TOP, ge=1, le=50),
               measure: str | None = None, compare: str | None = None, conn: Connection = Depends(connection),
               user: Principal = Depends(current_user)):
    t = translator(request)
    form = {"source": source, "year": year_ or "", "from": date_from or "", "to": date_to or "", "level": level,
            "country": (country or "").upper(), "top": top, "measure": measure or "", "compare": compare or ""}
    context = {"form": form, "sources": {k: v for k, v in source_labels(t).items() if k in service.sources()},
               "levels": level_labels(t), "measures": measure_labels(t), "error": None, "result": None}
    status = 200
    try:
        q = ODQuery(year=year(year_), date_from=month(date_from), date_to=month(date_to, last=True), level=level,
                    country=form["country"] or None, top=top,
                    measure=(measure or None) if source == "unhcr" else None)
        compared = None
        if compare:
            compared = ODQuery(**{**q.__dict__, "year": year(compare), "date_from": None, "date_to": None})
        result, table, compared = service.corridors(conn, user, source, q, compared)
        context["result"] = _views(conn, result, table, compared, level, q)
        if result.raw_operations:  # raw flow figures are a sensitive read, logged like the dashboards'
            audit.record(conn, user, "read-unprotected", target=f"flows/{source}", client=client_of(request),
                         details={"operations": result.raw_operations})
    except ApiError as exc:
        status = exc.status if exc.status in (400, 404) else status
        if exc.status not in (400, 404):
            raise
        context["error"] = exc.message
    return render(request, "flows.html", nav="flows", status_code=status, **context)


def _views(conn: Connection, result: service.Flows, table, compared, level: str, q: ODQuery) -> dict:
    grid = views.matrix(result.rows.to_dicts())
    codes = sorted(set(table["origin"].to_list()) | set(table["destination"].to_list())
                   | set(grid["origins"]) | set(grid["destinations"]))
    located = views.places(conn, codes, level)
    corridors = _rows(table, located)
    names = {k: p.name for k, p in located.items()}
    shown = [c for c in corridors if c["value"] is not None]
    return {
        "corridors": corridors, "period": corridors[0]["period"] if corridors else None,
        "protected": result.protected, "count": result.rows.height,
        "hidden": result.rows["suppressed"].sum(),
        "compared": (str(compared.year) if compared and compared.year is not None else
                     f"{compared.date_from:%Y-%m}..{compared.date_to:%Y-%m}" if compared and compared.date_from
                     else None),
        "map": views.flow_map(corridors, located, views.backdrop(conn, located, level)),
        "sankey": views.sankey(shown, names),
        "matrix": grid, "names": names,
    }
