"""Downloads of figures, series and changes as CSV, XLSX, HXL-tagged CSV, GeoJSON or Parquet."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection

from mobtrack.publish import FORMATS, export
from mobtrack.web.api._common import MAX_INT
from mobtrack.web.api.figures import Disaggregation, Group, Level, Protected, Purpose, Unit, view_for
from mobtrack.web.api.models import FeatureCollection, answers
from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.errors import ApiError
from mobtrack.web.services import audit, places
from mobtrack.web.services import figures as service
from mobtrack.web.services.principal import Principal

router = APIRouter(tags=["exports"])
# What each format's file is: GeoJSON is JSON (a FeatureCollection), the others are bytes.
EXPORT_MEDIA = {media: FeatureCollection.model_json_schema() if media.endswith("json") else
                {"type": "string", "format": "binary"} for media, _ in FORMATS.values()}


def dataset_of(operation: str) -> str:
    """How an operation's figures are named in data-sharing agreements (`operation:*` covers all)."""
    return f"operation:{operation}"


def require_agreement(request: Request, user: Principal, operation: str) -> None:
    """Raw (restricted) figures leave as a file only under an active agreement of the caller's
    organisation (issue 4, item 5); admins manage the data and are exempt."""
    if user.role == "admin":
        return
    from mobtrack.protect.agreements import active_agreement
    from mobtrack.protect.classes import Sensitivity

    if active_agreement(request.app.state.engine, user.organisation, dataset_of(operation),
                        Sensitivity.RESTRICTED) is None:
        raise ApiError(403, f"downloading raw figures of {operation!r} needs an active data-sharing agreement "
                            f"for {user.organisation!r} naming {dataset_of(operation)!r}; download the "
                            "protected figures (protected=true) instead")


@router.get("/operations/{operation}/export",
            responses=answers(None, 400, 403, 404, 503, media=EXPORT_MEDIA))
def export_table(request: Request, operation: str,
                 format: str = Query("csv", pattern=f"^({'|'.join(FORMATS)})$"),
                 table: str = Query("figures", pattern="^(figures|series|changes)$"),
                 level: int = Level, group: str = Group, unit: str = Unit, round: int | None = Query(None, ge=0, le=MAX_INT),
                 latest: bool = False, assessment_type: str | None = None, disaggregation: str | None = Disaggregation,
                 protected: bool | None = Protected, purpose: str | None = Purpose,
                 conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """The same rows as the JSON endpoints (protected the same way), as a file."""
    if format not in FORMATS:
        raise ApiError(400, f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    view = view_for(request, conn, user, operation, protected, purpose, f"export/{table}")
    if view.unprotected:
        require_agreement(request, user, view.operation)
    if table == "figures":
        frame, _ = service.figures(conn, view, level, group, unit, round, latest, assessment_type, disaggregation)
    elif table == "series":
        frame = service.series(conn, view, level, group, unit, assessment_type)
    else:
        frame = service.changes(conn, view, level, group, unit, round, assessment_type)
    geometry = places.geojson(conn, view.country_iso3, level, "medium") if format == "geojson" else None
    payload = export(frame, format, level, geometry)
    audit.record(conn, user, "export", f"{view.operation}/{table}", purpose=purpose, client=client_of(request),
                 details={"format": format, "level": level, "rows": frame.height, "protected": not view.unprotected},
                 alone=True)
    media, ext = FORMATS[format]
    stem = re.sub(r"[^A-Za-z0-9]+", "-", view.operation).strip("-").lower()
    name = f"{stem}-{table}-adm{level}" + (f"-r{round}" if round is not None else "") + \
        ("-hxl" if format == "hxl" else "") + f".{ext}"
    return Response(payload, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
