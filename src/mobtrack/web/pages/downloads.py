"""Downloads: the figures a visitor may see, as a file, for one operation, round (or all rounds) and level.

The file itself is made by the API's export endpoint (`/api/v1/operations/{id}/export`: CSV, XLSX,
HXL-tagged CSV, GeoJSON, Parquet; protected the same way as the pages and written to the audit log).
The page's form posts nothing: it is a GET to `/downloads/file`, which only turns the choices into the
export URL, so it works without JavaScript and with any operation name.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from mobtrack.publish import FORMATS
from mobtrack.web.auth import connection, current_user
from mobtrack.web.pages import _figures as data
from mobtrack.web.pages._render import render, translator
from mobtrack.web.services import catalogue
from mobtrack.web.services.principal import Principal

router = APIRouter()
LEVELS = [0, 1, 2, 3]
TABLES = {"figures": "Figures per place and round", "changes": "Change since the previous round"}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel (XLSX)", "hxl": "HXL-tagged CSV", "geojson": "GeoJSON (map)",
                 "parquet": "Parquet"}


@router.get("/downloads", name="downloads")
def downloads(request: Request, operation: str | None = None, round: int | None = None,
              conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    views = data.operations(conn, user)
    chosen = next((v for v in views if v.operation == operation), views[0] if views else None)
    rounds = data.rounds(conn, chosen).to_dicts() if chosen else []
    return render(request, "downloads.html", nav="downloads", views=views, chosen=chosen, rounds=rounds,
                  chosen_round=round, levels=LEVELS, tables=TABLES,
                  formats={k: v for k, v in FORMAT_LABELS.items() if k in FORMATS})


@router.get("/downloads/file", name="download_file")
def download_file(request: Request, operation: str, round: str = "", level: int = Query(1, ge=0, le=5),
                  format: str = "csv", table: str = "figures", conn: Connection = Depends(connection),
                  user: Principal = Depends(current_user)):
    t = translator(request)
    try:
        found = catalogue.find_operation(conn, user, operation)
    except Exception:  # noqa: BLE001 -- unknown and invisible operations answer alike
        found = None
    if found is None or format not in FORMATS or table not in TABLES or (round and not round.isdecimal()):
        return render(request, "error.html", status_code=404,
                      message=t("No round of this operation is available to you."))
    url = request.url_for("export_table", operation=str(found["id"])).include_query_params(
        format=format, table=table, level=level, **({"round": int(round)} if round else {}))
    return RedirectResponse(url.path + "?" + url.query, status_code=303)
