"""Publishing: a round becomes visible to the public only when published, and only when nothing blocks it.

What blocks: an error-severity issue on the round's current version (its rows, its round checks, places
still in review), or on the file it came from as a whole. Warnings never block.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, exists, or_, select, update

from mobtrack.store.rounds import now
from mobtrack.store.schema import issue, operation, round_, round_version


class PublishError(Exception):
    def __init__(self, message: str, blocking: list[dict] | None = None):
        super().__init__(message)
        self.blocking = blocking or []


def find_round(conn: Connection, operation_name: str, number: int, assessment_type: str | None = None):
    query = (select(round_.c.id, round_.c.status, round_.c.assessment_type, round_.c.current_version_id)
             .join(operation, operation.c.id == round_.c.operation_id)
             .where(operation.c.name == operation_name, round_.c.number == number))
    if assessment_type:
        query = query.where(round_.c.assessment_type == assessment_type.upper())
    found = conn.execute(query).all()
    if not found:
        raise PublishError(f"no round {number} of operation {operation_name!r}"
                           + (f" ({assessment_type})" if assessment_type else ""))
    if len(found) > 1:
        kinds = ", ".join(r.assessment_type for r in found)
        raise PublishError(f"operation {operation_name!r} has a round {number} for several assessment types "
                           f"({kinds}): say which with --assessment-type")
    return found[0]


def _blocking(version_id: int):
    file_id = select(round_version.c.source_file_id).where(round_version.c.id == version_id).scalar_subquery()
    return and_(issue.c.severity == "error",
                or_(issue.c.round_version_id == version_id,
                    and_(issue.c.round_version_id.is_(None), issue.c.source_file_id == file_id)))


def blocking_issues(conn: Connection, version_id: int, limit: int | None = None) -> list[dict]:
    query = (select(issue.c.rule, issue.c.sheet, issue.c.row, issue.c.column, issue.c.value, issue.c.message)
             .where(_blocking(version_id)).order_by(issue.c.id).limit(limit))
    return [r._asdict() for r in conn.execute(query).all()]


def is_blocked(conn: Connection, version_id: int) -> bool:
    return conn.execute(select(exists().where(_blocking(version_id)))).scalar_one()


def mark_validated(conn: Connection, version_id: int) -> str:
    """After an import: `validated` when nothing blocks publishing, else `draft`."""
    status = "draft" if is_blocked(conn, version_id) else "validated"
    conn.execute(update(round_).where(round_.c.current_version_id == version_id).values(status=status))
    return status


def mark_validated_many(conn: Connection, version_ids: list[int]) -> dict[int, str]:
    """`mark_validated` for many versions at once (an import's rounds): a few statements, not two per round."""
    if not version_ids:
        return {}
    blocked, files = set(), {}
    for start in range(0, len(version_ids), 10_000):  # SQLite caps the number of bound parameters
        chunk = version_ids[start:start + 10_000]
        blocked.update(conn.execute(select(issue.c.round_version_id).where(
            issue.c.severity == "error", issue.c.round_version_id.in_(chunk)).distinct()).scalars())
        files.update(conn.execute(select(round_version.c.id, round_version.c.source_file_id)
                                  .where(round_version.c.id.in_(chunk))).all())
    # an error about a file as a whole blocks every round it brought
    for file_id in set(files.values()):
        if conn.execute(select(exists().where(issue.c.severity == "error", issue.c.round_version_id.is_(None),
                                              issue.c.source_file_id == file_id))).scalar_one():
            blocked.update(vid for vid, f in files.items() if f == file_id)
    status = {vid: "draft" if vid in blocked else "validated" for vid in version_ids}
    for value in ("draft", "validated"):
        ids = [vid for vid, s in status.items() if s == value]
        for start in range(0, len(ids), 10_000):
            conn.execute(update(round_).where(round_.c.current_version_id.in_(ids[start:start + 10_000]))
                         .values(status=value))
    return status


def publish(conn: Connection, operation_name: str, number: int, assessment_type: str | None = None) -> dict:
    found = find_round(conn, operation_name, number, assessment_type)
    if found.status == "published":
        return {"operation": operation_name, "round": number, "status": "published", "changed": False}
    if is_blocked(conn, found.current_version_id):
        blocking = blocking_issues(conn, found.current_version_id, limit=1000)
        raise PublishError(f"round {number} of {operation_name!r} has blocking errors; "
                           "fix the file and import it again, or resolve the review items", blocking)
    conn.execute(update(round_).where(round_.c.id == found.id).values(status="published", published_at=now()))
    return {"operation": operation_name, "round": number, "status": "published", "changed": True}
