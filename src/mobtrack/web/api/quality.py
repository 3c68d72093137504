"""Validation reports (issues per round) and the review queue of places the matcher could not settle."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from mobtrack.web.api._common import MAX_INT, Cursor, Id, Limit, decode_cursor, encode_cursor, forget_stamps
from mobtrack.web.api.models import DecisionOutcome, Issue, Item, Page, QualityRound, Review, answers
from mobtrack.web.auth import client_of, connection, require_login
from mobtrack.web.errors import ApiError
from mobtrack.web.services import audit, catalogue, quality
from mobtrack.web.services.principal import READ_QUALITY, Principal

router = APIRouter(tags=["quality"])


def _keyset(rows: list[dict], limit: int) -> dict:
    nxt = encode_cursor(rows[-1]["id"]) if len(rows) == limit else None
    return {"ok": True, "count": len(rows), "next": nxt, "data": rows}


@router.get("/operations/{operation}/issues", responses=answers(Page[Issue], 400, 404))
def issues(operation: str, round: int | None = Query(None, ge=0, le=MAX_INT), severity: str | None = Query(
        None, pattern="^(error|warning|info)$"), rule: str | None = None, limit: int = Limit,
        cursor: str | None = Cursor, conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    """Issues of the rounds' current versions: file, sheet, row, column, value, rule and message."""
    op = catalogue.find_operation(conn, user, operation)
    after = decode_cursor(cursor) if cursor else None
    rows = quality.issues(conn, user, op["name"], op["country_iso3"], round, severity, rule, after, limit)
    return _keyset(rows, limit)


@router.get("/operations/{operation}/quality", responses=answers(Item[list[QualityRound]], 404))
def quality_summary(operation: str, conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    """Per round: issues by severity, status, and how many errors block publishing."""
    op = catalogue.find_operation(conn, user, operation)
    if not user.can(READ_QUALITY, op["name"], op["country_iso3"]):
        raise ApiError(404, f"operation {operation!r} not found")
    return {"ok": True, "data": quality.issue_summary(conn, op["name"])}


@router.get("/reviews", responses=answers(Page[Review], 400, 403))
def reviews(status: str | None = Query("open", pattern="^(open|accepted|rejected)$"), country: str | None = None,
            limit: int = Limit, cursor: str | None = Cursor, conn: Connection = Depends(connection),
            user: Principal = Depends(require_login)):
    """Places waiting for a person's decision, with the matcher's candidates."""
    after = decode_cursor(cursor) if cursor else None
    return _keyset(quality.reviews(conn, user, status, after, limit, country), limit)


class Decision(BaseModel):
    pcode: str | None = Field(None, description="The p-code the name means; null for 'no such place'.")


@router.post("/reviews/{review_id}/decision", responses=answers(Item[DecisionOutcome], 400, 403, 404, 409))
def decide(request: Request, review_id: int = Id(), decision: Decision = Body(),
           conn: Connection = Depends(connection),
           user: Principal = Depends(require_login)):
    """Accept a candidate (or any p-code of the right level) or reject; held-back rounds are re-resolved."""
    outcome = quality.decide(conn, user, review_id, decision.pcode)
    forget_stamps()
    audit.record(conn, user, "review-decision", f"review/{review_id}", client=client_of(request),
                 details={"pcode": decision.pcode})
    return {"ok": True, "data": outcome}
