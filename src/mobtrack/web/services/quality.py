"""Validation reports (issues per round version or file) and the review queue of unmatched places."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from mobtrack.store.publishing import blocking_issues
from mobtrack.store.schema import issue, match_review, operation, round_, round_version, source_file
from mobtrack.web.errors import ApiError
from mobtrack.web.services.principal import READ_QUALITY, REVIEW, Principal


def _countries(principal: Principal, conn: Connection) -> set[str] | None:
    """Countries whose quality data the caller may read (None = all)."""
    if principal.everywhere:
        return None
    names = principal.operations
    found = set(principal.countries)
    if names:
        found |= {r[0] for r in conn.execute(select(operation.c.country_iso3).where(operation.c.name.in_(names)))}
    return found


def issues(conn: Connection, principal: Principal, operation_name: str, country: str, number: int | None,
           severity: str | None, rule: str | None, after_id: int | None, limit: int) -> list[dict]:
    if not principal.can(READ_QUALITY, operation_name, country):
        raise ApiError(404, f"operation {operation_name!r} not found")
    query = (select(issue.c.id, issue.c.severity, issue.c.rule, issue.c.sheet, issue.c.row, issue.c.column,
                    issue.c.value, issue.c.message, source_file.c.name.label("source_file"),
                    round_.c.number.label("round"), round_.c.assessment_type, round_version.c.version.label(
                        "round_version"), (round_.c.current_version_id == round_version.c.id).label("current"))
             .join(round_version, round_version.c.id == issue.c.round_version_id)
             .join(round_, round_.c.id == round_version.c.round_id)
             .join(operation, operation.c.id == round_.c.operation_id)
             .outerjoin(source_file, source_file.c.id == issue.c.source_file_id)
             .where(operation.c.name == operation_name, round_.c.current_version_id == round_version.c.id))
    if number is not None:
        query = query.where(round_.c.number == number)
    if severity:
        query = query.where(issue.c.severity == severity)
    if rule:
        query = query.where(issue.c.rule == rule)
    if after_id is not None:
        query = query.where(issue.c.id > after_id)
    return [dict(r) for r in conn.execute(query.order_by(issue.c.id).limit(limit)).mappings()]


def issue_summary(conn: Connection, operation_name: str) -> list[dict]:
    """Per current round version: counts by severity and whether publishing is blocked."""
    rows = conn.execute(
        select(round_.c.number, round_.c.assessment_type, round_.c.status, round_.c.current_version_id,
               issue.c.severity, func.count(issue.c.id))
        .join(operation, operation.c.id == round_.c.operation_id)
        .outerjoin(issue, issue.c.round_version_id == round_.c.current_version_id)
        .where(operation.c.name == operation_name)
        .group_by(round_.c.number, round_.c.assessment_type, round_.c.status, round_.c.current_version_id,
                  issue.c.severity)
    ).all()
    out: dict[tuple, dict] = {}
    for number, kind, status, vid, severity, count in rows:
        entry = out.setdefault((kind, number), {"assessment_type": kind, "round": number, "status": status,
                                                "error": 0, "warning": 0, "info": 0})
        if severity:
            entry[severity] = count
        entry["blocking"] = len(blocking_issues(conn, vid)) if status != "published" else 0
    return sorted(out.values(), key=lambda e: (e["assessment_type"], e["round"]))


def reviews(conn: Connection, principal: Principal, status: str | None, after_id: int | None, limit: int,
            country: str | None = None) -> list[dict]:
    if not principal.has(READ_QUALITY):
        raise ApiError(403, f"your role ({principal.role}) may not read the review queue")
    query = (select(match_review, source_file.c.name.label("source_file"))
             .outerjoin(source_file, source_file.c.id == match_review.c.source_file_id))
    allowed = _countries(principal, conn)
    if allowed is not None:
        query = query.where(match_review.c.country_iso3.in_(allowed))
    if country:
        query = query.where(match_review.c.country_iso3 == country.upper())
    if status:
        query = query.where(match_review.c.status == status)
    if after_id is not None:
        query = query.where(match_review.c.id > after_id)
    return [dict(r) for r in conn.execute(query.order_by(match_review.c.id).limit(limit)).mappings()]


def decide(conn: Connection, principal: Principal, review_id: int, pcode: str | None) -> dict:
    from mobtrack.rework import decide_and_apply

    row = conn.execute(select(match_review.c.country_iso3, match_review.c.status)
                       .where(match_review.c.id == review_id)).first()
    allowed = _countries(principal, conn)
    if row is None or (allowed is not None and row.country_iso3 not in allowed):
        raise ApiError(404, f"review item {review_id} not found")
    if not principal.has(REVIEW):
        raise ApiError(403, f"your role ({principal.role}) may not decide review items")
    if row.status != "open":
        raise ApiError(409, f"review item {review_id} was already decided ({row.status})")
    from mobtrack.gazetteer.aliases import ReviewError

    try:
        return decide_and_apply(conn, review_id, pcode, principal.label())
    except ReviewError as exc:
        raise ApiError(400, str(exc)) from exc
