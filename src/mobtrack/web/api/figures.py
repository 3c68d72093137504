"""Figures at any admin level, time series and change between rounds (protected unless you may see raw)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from mobtrack.web.api._common import MAX_INT, Cursor, Limit, Sort, cached, frame_response
from mobtrack.web.api.models import Change, Figure, FigurePage, answers
from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.errors import ApiError
from mobtrack.web.services import audit, catalogue
from mobtrack.web.services import figures as service
from mobtrack.web.services.catalogue import View
from mobtrack.web.services.figures import DIMENSIONS
from mobtrack.web.services.principal import Principal

router = APIRouter(tags=["figures"])

Level = Query(1, ge=0, le=5, description="Admin level: 0 country ... 4, 5 sites/villages.")
Group = Query("idps", description="Population group: idps, returnees_internal, returnees_abroad, ...")
Unit = Query("individuals", description="individuals or households.")
Protected = Query(None, description="true: small-cell suppressed figures even if you may see raw ones; "
                                    "false: raw figures (analyst, manager, admin; audited).")
Purpose = Query(None, max_length=500, description="Why you read raw figures (recorded in the audit log).")
PCodes = Query(None, description="Only these p-codes (comma-separated).")
Disaggregation = Query(None, pattern=f"^({'|'.join(DIMENSIONS)})$", description="Break the figures down by this.")


def view_for(request: Request, conn: Connection, user: Principal, operation: str, protected: bool | None,
             purpose: str | None, what: str) -> View:
    op = catalogue.find_operation(conn, user, operation)
    view = catalogue.view_of(user, op["name"], op["country_iso3"], protected)
    if view.unprotected:
        # A sensitive read: who, what, why, from where (never the values).
        audit.record(conn, user, "read-unprotected", f"{op['name']}/{what}", purpose=purpose or
                     request.headers.get("x-purpose"), client=client_of(request), alone=True)
    return view


def _pcodes(frame, pcode: str | None):
    if pcode:
        import polars as pl

        frame = frame.filter(pl.col("pcode").is_in([p.strip() for p in pcode.split(",") if p.strip()]))
    return frame


@router.get("/operations/{operation}/figures",
            responses=answers(FigurePage[Figure], 400, 403, 404, 503, not_modified=True))
def figures(request: Request, operation: str, level: int = Level, group: str = Group, unit: str = Unit,
            round: int | None = Query(None, ge=0, le=MAX_INT, description="Round number (default: every visible round)."),
            latest: bool = Query(False, description="Only the latest visible round."),
            assessment_type: str | None = None,
            disaggregation: str | None = Disaggregation,
            pcode: str | None = PCodes, protected: bool | None = Protected, purpose: str | None = Purpose,
            limit: int = Limit, cursor: str | None = Cursor, sort: str | None = Sort,
            conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    return answer_figures(request, conn, user, operation, level, group, unit, round, latest, assessment_type,
                          disaggregation, pcode, protected, purpose, limit, cursor, sort)


def answer_figures(request: Request, conn: Connection, user: Principal, operation: str, level: int = 1,
                   group: str = "idps", unit: str = "individuals", round: int | None = None, latest: bool = False,
                   assessment_type: str | None = None, disaggregation: str | None = None, pcode: str | None = None,
                   protected: bool | None = None, purpose: str | None = None, limit: int = 1000,
                   cursor: str | None = None, sort: str | None = None):
    """The figures endpoint's answer to parameters already validated (by FastAPI, or by web.fast_path)."""
    if round is not None and latest:
        raise ApiError(400, "use either round or latest")

    def check_figures():
        return view_for(request, conn, user, operation, protected, purpose, "figures")

    def build():
        view = check_figures()
        frame, selected = service.figures(conn, view, level, group, unit, round, latest, assessment_type,
                                          disaggregation)
        tag = catalogue.etag(selected, "figures", view.unprotected, level, group, unit, disaggregation, pcode)
        return frame_response(request, _pcodes(frame, pcode), cursor, limit, sort, tag,
                              {"protected": not view.unprotected})
    return cached(request, conn, user, build, check_figures)


@router.get("/operations/{operation}/series",
            responses=answers(FigurePage[Figure], 400, 403, 404, 503, not_modified=True))
def series(request: Request, operation: str, level: int = Level, group: str = Group, unit: str = Unit,
           assessment_type: str | None = None, pcode: str | None = PCodes, protected: bool | None = Protected,
           purpose: str | None = Purpose, limit: int = Limit, cursor: str | None = Cursor,
           sort: str | None = Sort, conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """Each place's value round by round (by reporting date)."""
    def check_series():
        return view_for(request, conn, user, operation, protected, purpose, "series")

    def build():
        view = check_series()
        frame = _pcodes(service.series(conn, view, level, group, unit, assessment_type), pcode)
        return frame_response(request, frame, cursor, limit, sort, None, {"protected": not view.unprotected})
    return cached(request, conn, user, build, check_series)


@router.get("/operations/{operation}/changes",
            responses=answers(FigurePage[Change], 400, 403, 404, 503, not_modified=True))
def changes(request: Request, operation: str, level: int = Level, group: str = Group, unit: str = Unit,
            round: int | None = Query(None, ge=0, le=MAX_INT), assessment_type: str | None = None, pcode: str | None = PCodes,
            protected: bool | None = Protected, purpose: str | None = Purpose, limit: int = Limit,
            cursor: str | None = Cursor, sort: str | None = Sort, conn: Connection = Depends(connection),
            user: Principal = Depends(current_user)):
    """Change since the previous visible round of the same assessment type (null when either is hidden)."""
    def check_changes():
        return view_for(request, conn, user, operation, protected, purpose, "changes")

    def build():
        view = check_changes()
        frame = _pcodes(service.changes(conn, view, level, group, unit, round, assessment_type), pcode)
        return frame_response(request, frame, cursor, limit, sort, None, {"protected": not view.unprotected})
    return cached(request, conn, user, build, check_changes)
