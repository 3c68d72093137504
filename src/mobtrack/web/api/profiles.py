"""Country profiles: immigrant and emigrant stocks, refugees, asylum-seekers, IDPs (IDMC and DTM side by
side) and new displacements, every figure with its source, year, definition and source rows."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from mobtrack.web.api.models import Item, Profile, answers
from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.services import audit
from mobtrack.web.services import profiles as service
from mobtrack.web.services.principal import Principal

router = APIRouter(tags=["profiles"])


@router.get("/profiles/{country}", responses=answers(Item[Profile], 400, 403, 404, 503))
def get_profile(request: Request, country: str,
                year: int | None = Query(None, ge=1900, le=2100, description="Latest figures not after this year."),
                conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """A country profile (ISO3 code or name). The DTM IDP figure is the caller's view of DTM's rounds
    (published and protected for the public); `links` point to the country's flows pages."""
    found, raw = service.profile(conn, user, country, year)
    if raw:
        audit.record(conn, user, "read-unprotected", f"profile/{found['country']['code']}", client=client_of(request),
                     details={"operations": raw}, alone=True)
    return {"ok": True, "data": found}
