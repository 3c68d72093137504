"""Country profiles: immigrant and emigrant stocks, refugees, asylum-seekers, IDPs (IDMC and DTM side by
side) and new displacements, every figure with its source, year, definition and source rows."""

from __future__ import annotations

import re

import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection

from mobtrack.publish.exports import FORMATS, export
from mobtrack.stats.profiles import EXPORT_COLUMNS, profile_rows
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


PROFILE_FORMATS = ("csv", "xlsx", "parquet")
PROFILE_MEDIA = {FORMATS[f][0]: {"type": "string", "format": "binary"} for f in PROFILE_FORMATS}


@router.get("/profiles/{country}/export", responses=answers(None, 400, 403, 404, 503, media=PROFILE_MEDIA))
def export_profile(request: Request, country: str,
                   format: str = Query("csv", pattern=f"^({'|'.join(PROFILE_FORMATS)})$"),
                   year: int | None = Query(None, ge=1900, le=2100, description="Latest figures not after this year."),
                   conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """The profile as a file: one row per figure, trend year, top partner and cause, each with its source
    file, sha256 and source rows (the same figures as `/profiles/{country}`, protected the same way)."""
    found, raw = service.profile(conn, user, country, year)
    code = found["country"]["code"]
    frame = pl.DataFrame(profile_rows(found), schema={c: (pl.Float64 if c == "value" else pl.Int64 if c == "year"
                                                       else pl.Boolean if c == "suppressed" else pl.String)
                                                      for c in EXPORT_COLUMNS}, strict=False)
    if (frame["value"].drop_nulls() % 1 == 0).all():  # counts: written as 2954, not 2954.0
        frame = frame.with_columns(pl.col("value").cast(pl.Int64))
    audit.record(conn, user, "export", f"profile/{code}", client=client_of(request), alone=True,
                 details={"format": format, "rows": frame.height, "operations_unprotected": raw})
    media, ext = FORMATS[format]
    name = f"profile-{re.sub(r'[^A-Za-z0-9]+', '', code).lower()}" + (f"-{year}" if year else "") + f".{ext}"
    return Response(export(frame, format), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
