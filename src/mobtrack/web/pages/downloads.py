"""Downloads: the figures a visitor may see, as CSV, for one operation, round (or all rounds) and admin level.

The file is built by the same service as the API's figures (protected for whoever must not read raw
counts), so a downloaded total is the one the dashboard shows; suppressed cells are empty with
`suppressed` = true. Every download is written to the audit log.
"""

from __future__ import annotations

import re

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.pages import _figures as data
from mobtrack.web.pages._render import render, translator
from mobtrack.web.services import audit
from mobtrack.web.services import figures as service
from mobtrack.web.services.principal import Principal

router = APIRouter()
LEVELS = [0, 1, 2, 3]


@router.get("/downloads", name="downloads")
def downloads(request: Request, operation: str | None = None, round: int | None = None,
              conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    views = data.operations(conn, user)
    chosen = next((v for v in views if v.operation == operation), views[0] if views else None)
    rounds = data.rounds(conn, chosen).to_dicts() if chosen else []
    return render(request, "downloads.html", nav="downloads", views=views, chosen=chosen, rounds=rounds,
                  chosen_round=round, levels=LEVELS)


@router.get("/downloads/figures.csv", name="download_figures")
def download_figures(request: Request, operation: str, round: int | None = None,
                     level: int = Query(1, ge=0, le=5), assessment_type: str | None = None,
                     conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    t = translator(request)
    view = data.find_view(conn, user, operation)
    if view is None:
        return render(request, "error.html", status_code=404, message=t("No round of this operation is available to you."))
    rows, selected = service.figures(conn, view, level, round_number=round, assessment_type=assessment_type)
    audit.record(conn, user, "export", target=f"figures/{operation}/{round or 'all'}/admin{level}",
                 client=client_of(request), details={"rows": rows.height, "protected": not view.unprotected})
    out = rows.select("operation", "assessment_type", "round", "reporting_date", pl.col("level").alias("admin_level"),
                      "pcode", "name", "population_group", "unit", "value", "suppressed", "round_version",
                      "source_file")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", operation).strip("-").lower()[:60] or "operation"
    name = f"{slug}_admin{level}_{'round' + str(round) if round is not None else 'all-rounds'}.csv"
    return Response(out.write_csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
