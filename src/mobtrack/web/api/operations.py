"""Operations and their rounds; publishing a round."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from mobtrack.web.api._common import (
    Cursor,
    Limit,
    RoundNumber,
    Sort,
    forget_stamps,
    frame_response,
    rows_response,
)
from mobtrack.web.api.models import (
    Item,
    Operation,
    OperationSummary,
    Page,
    Published,
    Round,
    RoundDetail,
    answers,
)
from mobtrack.web.auth import client_of, connection, current_user, require_login
from mobtrack.web.services import audit, catalogue, imports, quality
from mobtrack.web.services.principal import READ_QUALITY, Principal

router = APIRouter(tags=["operations"])


@router.get("/operations", responses=answers(Page[OperationSummary]))
def list_operations(conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """Operations with at least one round you may see (published ones for everybody)."""
    return rows_response(catalogue.operations(conn, user))


@router.get("/operations/{operation}", responses=answers(Item[Operation], 404))
def get_operation(operation: str, conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    op = catalogue.find_operation(conn, user, operation)
    return {"ok": True, "data": op}


@router.get("/operations/{operation}/rounds", responses=answers(Page[Round], 400, 404, not_modified=True))
def list_rounds(request: Request, operation: str, assessment_type: str | None = None, limit: int = Limit,
                cursor: str | None = Cursor, sort: str | None = Sort, conn: Connection = Depends(connection),
                user: Principal = Depends(current_user)):
    """Rounds with provenance: version, reporting date and period, source file, status."""
    op = catalogue.find_operation(conn, user, operation)
    frame = catalogue.rounds(conn, catalogue.view_of(user, op["name"], op["country_iso3"], True), assessment_type)
    shown = frame.drop("version_id", "round_id", "content_hash")
    return frame_response(request, shown, cursor, limit, sort, etag=catalogue.etag(frame, "rounds"))


@router.get("/operations/{operation}/rounds/{number}", responses=answers(Item[list[RoundDetail]], 400, 404))
def get_round(request: Request, operation: str, number: int = RoundNumber(), assessment_type: str | None = None,
              conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    op = catalogue.find_operation(conn, user, operation)
    view = catalogue.view_of(user, op["name"], op["country_iso3"], True)
    frame = catalogue.pick_round(catalogue.rounds(conn, view, assessment_type), number, False, None)
    data = frame.drop("round_id", "content_hash").to_dicts()
    if user.can(READ_QUALITY, op["name"], op["country_iso3"]):
        summary = {(s["assessment_type"], s["round"]): s for s in quality.issue_summary(conn, op["name"])}
        for row in data:
            row["quality"] = summary.get((row["assessment_type"], row["round"]))
    return {"ok": True, "data": data}


@router.post("/operations/{operation}/rounds/{number}/publish",
             responses=answers(Item[Published], 400, 403, 404, 409))
def publish_round(request: Request, operation: str, number: int = RoundNumber(),
                  assessment_type: str | None = Query(None, description="When several types share the number."),
                  conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    """Make a round public. 409 with the blocking errors while any remain."""
    op = catalogue.find_operation(conn, user, operation)
    result = imports.publish_round(conn, user, op["name"], number, assessment_type)
    forget_stamps()
    audit.record(conn, user, "publish", f"{op['name']}/round {number}", client=client_of(request), details=result)
    return {"ok": True, "data": result}
