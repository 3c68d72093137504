"""Location page: one place's time series, its breakdowns, the places and sites below it."""

from __future__ import annotations

import polars as pl
from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection, select

from mobtrack.store.places import hierarchy
from mobtrack.store.schema import location
from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.pages import _figures as data
from mobtrack.web.pages import _forecast
from mobtrack.web.pages._render import render, translator
from mobtrack.web.pages.dashboard import breakdowns_of, choose, trend_chart, with_change
from mobtrack.web.services import audit
from mobtrack.web.services.principal import Principal

router = APIRouter()


@router.get("/location", name="location")
def location_page(request: Request, operation: str, pcode: str, round: int | None = None,
                  assessment_type: str | None = None,
                  conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    t = translator(request)
    view = data.find_view(conn, user, operation)
    rounds, chosen, kinds = choose(conn, view, assessment_type, round) if view else (None, None, [])
    table = data.level_figures(conn, view, chosen["assessment_type"], levels=(0, 1, 2, 3)) if chosen else None
    place = table.filter(pl.col("pcode") == pcode) if table is not None else None
    if place is None or place.is_empty():
        return render(request, "error.html", status_code=404,
                      message=t("This place has no figures available to you in this operation."))
    kind = chosen["assessment_type"]
    level = int(place["level"][0])
    series = place.sort("round").to_dicts()
    places = hierarchy(conn, view.country_iso3)
    meta = places.filter(pl.col("pcode") == pcode).row(0, named=True)
    # Other-language names (e.g. Arabic) as the gazetteer gave them; shown isolated, in their own direction.
    names = conn.execute(select(location.c.names).where(location.c.country_iso3 == view.country_iso3,
                                                        location.c.pcode == pcode, location.c.names.is_not(None))
                         ).scalar() or {}
    parent = None
    if meta["parent_pcode"] and level > 1:
        parent_rows = table.filter((pl.col("pcode") == meta["parent_pcode"]) & (pl.col("round") == chosen["round"]))
        parent = parent_rows.row(0, named=True) if parent_rows.height else None
    children_codes = places.filter(pl.col("parent_pcode") == pcode)["pcode"].unique().to_list()
    children = with_change(table.filter(pl.col("pcode").is_in(children_codes)), rounds["round"].to_list(),
                           chosen["round"])
    if view.unprotected:
        audit.record(conn, user, "read-unprotected", target=f"location/{operation}/{pcode}/{chosen['round']}",
                     client=client_of(request), alone=True)
    current = next((r for r in series if r["round"] == chosen["round"]), None)
    return render(
        request, "location.html", nav="home", view=view, rounds=rounds.to_dicts(), chosen=chosen, kinds=kinds,
        kind=kind, place={"pcode": pcode, "name": meta["name"], "level": level,
                          "names": {k: v for k, v in names.items() if v and v != meta["name"]}},
        parent=parent, current=current, trend=trend_chart(series, t),
        children=children.sort("value", descending=True, nulls_last=True).to_dicts(),
        sites=data.site_figures(conn, view, kind, chosen["round"], pcode).to_dicts(),
        breakdowns=breakdowns_of(conn, view, kind, chosen["round"], t, level=level, pcode=pcode),
        forecast=_forecast.panel(conn, view, level, kind, t, pcode=pcode) if level <= 3 else None,
    )
