"""Places as GeoJSON, simplified on the server."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Connection

from mobtrack.web.api.models import FeatureCollection, answers
from mobtrack.web.auth import connection, current_user
from mobtrack.web.errors import ApiError
from mobtrack.web.services import places
from mobtrack.web.services.principal import Principal

router = APIRouter(tags=["locations"])


@router.get("/locations/{country}", responses=answers(FeatureCollection, 400, 404, media="application/geo+json",
                                                       not_modified=True))
def locations(request: Request, country: str = Path(pattern="^[A-Za-z]{3}$", description="ISO 3166 alpha-3 code."),
              level: int = Query(1, ge=0, le=5),
              simplify: str = Query("medium", pattern="^(full|medium|low)$", description="full, medium or low (smaller, for slow links)."),
              pcode: str | None = Query(None, description="Only these p-codes (comma-separated)."),
              conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """Boundaries (levels 0-4) or points (sites, rounded to 0.01 degrees) of a country's places."""
    if len(country) != 3 or not country.isalpha():
        raise ApiError(400, "country is an ISO 3166 alpha-3 code, e.g. HTI")
    data = places.geojson(conn, country, level, simplify, pcode.split(",") if pcode else None)
    if not data["features"]:
        raise ApiError(404, f"no places at level {level} in {country.upper()}")
    import hashlib
    import json

    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    tag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag})
    return Response(body, media_type="application/geo+json", headers={"ETag": tag})
