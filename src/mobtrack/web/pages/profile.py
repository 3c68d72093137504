"""Country profile: one country's migration and displacement picture, every figure with its source, year,
definition and the source rows it was computed from, and links to the country's flows.

Built by mobtrack.web.services.profiles (the API's /api/v1/profiles/{country} too): global statistics as
their sources publish them, DTM's IDP figure from the rounds the visitor may see, protected for the public.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.errors import ApiError
from mobtrack.web.pages._render import render, translator
from mobtrack.web.pages._svg import sparkline
from mobtrack.web.services import audit
from mobtrack.web.services import profiles as service
from mobtrack.web.services.principal import Principal

router = APIRouter()


def figure_labels(t) -> dict[str, str]:
    """The headline figures, in the order the page lists them."""
    return {"immigrant_stock": t("International migrants living in the country"),
            "emigrant_stock": t("Emigrants living abroad"),
            "refugees_hosted": t("Refugees hosted"), "refugees_originating": t("Refugees from the country"),
            "asylum_seekers_hosted": t("Asylum-seekers hosted"),
            "asylum_seekers_originating": t("Asylum-seekers from the country"),
            "new_displacements": t("New internal displacements in the year")}


@router.get("/profile", name="profile")
def profile_page(request: Request, country: str | None = None,
                 year: str | None = Query(None, description="Latest figures not after this year."),
                 conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    t = translator(request)
    context = {"form": {"country": (country or "").strip(), "year": year or ""}, "found": None, "error": None,
               "labels": figure_labels(t), "spark": None}
    status = 200
    if country:
        try:
            if year and not (year.isdigit() and 1000 <= int(year) <= 9999):
                raise ApiError(400, f"not a year: {year!r}")
            found, raw = service.profile(conn, user, country.strip(), int(year) if year else None)
            if raw:
                audit.record(conn, user, "read-unprotected", target=f"profile/{found['country']['code']}",
                             client=client_of(request), details={"operations": raw})
            trend = found["figures"].get("immigrant_stock_trend")
            if trend:
                values = [p["value"] for p in trend["series"]]
                context["spark"] = sparkline(values, width=160, height=32, label=t(
                    "International migrants living in the country, {n} years", n=len(values)))
            context["found"] = found
        except ApiError as exc:
            if exc.status not in (400, 404):
                raise
            status, context["error"] = exc.status, exc.message
    return render(request, "profile.html", nav="profile", status_code=status, **context)
