"""Data quality: issues per round with filters, the review queue for doubtful places, and what blocks publishing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from mobtrack.store.publishing import blocking_issues
from mobtrack.web.auth import client_of, connection, require_login
from mobtrack.web.errors import ApiError
from mobtrack.web.pages import _figures as data
from mobtrack.web.pages._render import render, translator
from mobtrack.web.services import audit
from mobtrack.web.services import quality as service
from mobtrack.web.services.principal import READ_QUALITY, REVIEW, Principal

router = APIRouter()
ISSUE_PAGE = 200
SEVERITIES = ["error", "warning", "info"]


def quality_operations(conn: Connection, user: Principal) -> list[data.View]:
    return [v for v in data.operations(conn, user) if user.can(READ_QUALITY, v.operation, v.country_iso3)]


@router.get("/quality", name="quality")
def quality(request: Request, operation: str | None = None, round: int | None = None,
            severity: str | None = None, rule: str | None = None, message: str | None = None,
            conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    t = translator(request)
    if not user.has(READ_QUALITY):
        return render(request, "error.html", status_code=403, message=t("Your role cannot read data quality."))
    views = quality_operations(conn, user)
    chosen = next((v for v in views if v.operation == operation), views[0] if views else None)
    summary, issues, blocked, rules = [], [], [], set()
    if chosen is not None:
        summary = service.issue_summary(conn, chosen.operation)
        issues = service.issues(conn, user, chosen.operation, chosen.country_iso3, round,
                                severity or None, rule or None, None, ISSUE_PAGE)
        rules = {r["rule"] for r in service.issues(conn, user, chosen.operation, chosen.country_iso3, round,
                                                   None, None, None, 5000)}
        for r in data.rounds(conn, chosen).iter_rows(named=True):
            if r["status"] != "published":
                found = blocking_issues(conn, r["version_id"])
                if found:
                    blocked.append({**r, "count": len(found), "first": found[:5]})
    country = chosen.country_iso3 if chosen else None
    reviews = service.reviews(conn, user, "open", None, 100, country) if chosen else []
    return render(
        request, "quality.html", nav="quality", views=views, chosen=chosen, summary=summary, issues=issues,
        issue_page=ISSUE_PAGE, rules=sorted(rules), severities=SEVERITIES, blocked=blocked, reviews=reviews,
        can_review=user.has(REVIEW), message=message,
        filters={"round": round, "severity": severity or "", "rule": rule or ""},
    )


@router.post("/quality/review/{review_id}", name="review_decide")
def review_decide(request: Request, review_id: int, action: str = Form(...), pcode: str = Form(""),
                  operation: str = Form(""), conn: Connection = Depends(connection),
                  user: Principal = Depends(require_login)):
    t = translator(request)
    back = request.url_for("quality")
    if operation:
        back = back.include_query_params(operation=operation)
    chosen = (pcode.strip() or None) if action in ("accept", "choose") else None
    if action in ("accept", "choose") and not chosen:
        return RedirectResponse(back.include_query_params(message=t("Choose a p-code to accept the place.")),
                                status_code=303)
    try:
        outcome = service.decide(conn, user, review_id, chosen)
    except ApiError as exc:
        conn.rollback()
        return RedirectResponse(back.include_query_params(message=exc.message), status_code=303)
    audit.record(conn, user, "review", target=f"match_review/{review_id}", client=client_of(request),
                 details={"pcode": chosen, "rounds": len(outcome.get("rounds", []))})
    done = t("Review item {id}: {pcode}. {n} round(s) re-resolved.", id=review_id,
             pcode=chosen or t("no such place"), n=len(outcome.get("rounds", [])))
    # Committed before the redirect: the request's own commit runs only after the response is sent, and
    # the browser's next page must already see the decision.
    conn.commit()
    return RedirectResponse(back.include_query_params(message=done), status_code=303)
