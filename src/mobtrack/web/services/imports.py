"""Imports in the browser or by script: upload -> validation report (dry run) -> confirm -> publish.

The uploaded file waits on disk, named by a random token, between the report and the confirmation;
the confirmation imports exactly the file that was checked (its SHA-256 is compared).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import Connection, insert, select, update

from mobtrack.ingest import ImportOptions
from mobtrack.store.publishing import PublishError, publish
from mobtrack.store.schema import operation
from mobtrack.web.errors import ApiError
from mobtrack.web.services.accounts import now
from mobtrack.web.services.principal import UPLOAD, Principal
from mobtrack.web.tables import web_upload

MAX_UPLOAD = int(os.environ.get("MOBTRACK_MAX_UPLOAD_MB", "200")) * 1024 * 1024
MAX_REPORTED_ISSUES = 1000


def _safe_name(name: str) -> str:
    base = Path(name or "upload").name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:200] or "upload"


def save_upload(stream, file_name: str, folder: Path) -> Path:
    """Copy an uploaded stream to disk, refusing it beyond MAX_UPLOAD bytes."""
    target = folder / secrets.token_hex(16)
    target.mkdir(parents=True)
    path = target / _safe_name(file_name)
    written = 0
    with open(path, "wb") as out:
        while chunk := stream.read(1 << 20):
            written += len(chunk)
            if written > MAX_UPLOAD:
                out.close()
                shutil.rmtree(target, ignore_errors=True)
                raise ApiError(413, f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB "
                                    "(set MOBTRACK_MAX_UPLOAD_MB to allow more)")
            out.write(chunk)
    return path


def _report(result) -> dict:
    out = result.as_dict()
    out["issue_list"] = [i.as_dict() for i in result.issues[:MAX_REPORTED_ISSUES]]
    out["issues_truncated"] = len(result.issues) > MAX_REPORTED_ISSUES
    return out


def _check_scope(conn: Connection, principal: Principal, result, options: ImportOptions) -> None:
    for r in result.rounds:
        country = conn.execute(select(operation.c.country_iso3).where(operation.c.name == r.operation)).scalar()
        country = country or options.country_iso3
        if not principal.covers(r.operation, country):
            raise ApiError(403, f"the file holds operation {r.operation!r}, outside your scopes")


def check(conn: Connection, principal: Principal, db_url: str, path: Path, options: ImportOptions) -> dict:
    """Dry-run the file and keep it for confirmation. Returns the upload's token and its report."""
    from mobtrack.pipeline import import_file

    if not principal.has(UPLOAD):
        raise ApiError(403, f"your role ({principal.role}) may not import files")
    conn.commit()  # release SQLite's writer before the pipeline opens its own transaction
    result = import_file(path, options, db_url=db_url, dry_run=True)
    if result.status != "rejected":
        _check_scope(conn, principal, result, options)
    token = secrets.token_urlsafe(24)
    opts = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}
    report = _report(result)
    conn.execute(insert(web_upload).values(token=token, user_id=principal.user_id, file_name=path.name,
                                           path=str(path), options=json.dumps(opts), report=json.dumps(report,
                                           default=str), status="rejected" if result.status == "rejected"
                                           else "validated", created_at=now()))
    return {"upload": token, "status": "rejected" if result.status == "rejected" else "validated",
            "report": report}


def get(conn: Connection, principal: Principal, token: str) -> dict:
    row = conn.execute(select(web_upload).where(web_upload.c.token == token)).mappings().first()
    # someone else's upload (a report quotes the file's cells) is only the admin's business
    if row is None or (row["user_id"] != principal.user_id and principal.role != "admin"):
        raise ApiError(404, "upload not found")
    return {"upload": token, "file": row["file_name"], "status": row["status"],
            "report": json.loads(row["report"]) if row["report"] else None, "created_at": row["created_at"]}


def confirm(conn: Connection, principal: Principal, db_url: str, token: str, publish_rounds: bool) -> dict:
    from mobtrack.pipeline import import_file

    row = conn.execute(select(web_upload).where(web_upload.c.token == token)).mappings().first()
    if row is None or row["user_id"] != principal.user_id:
        raise ApiError(404, "upload not found")
    if row["status"] != "validated":
        raise ApiError(409, f"this upload is {row['status']}; upload the file again to import it")
    if not principal.has(UPLOAD):
        raise ApiError(403, f"your role ({principal.role}) may not import files")
    opts = json.loads(row["options"])
    options = ImportOptions(**{**opts, "mapping": Path(opts["mapping"]) if opts.get("mapping") else None})
    path = Path(row["path"])
    conn.commit()
    result = import_file(path, options, db_url=db_url, dry_run=False)
    status = result.status
    conn.execute(update(web_upload).where(web_upload.c.token == token).values(status=status,
                                                                                report=json.dumps(_report(result),
                                                                                                  default=str)))
    published = []
    if publish_rounds and status != "rejected":
        published = publish_results(conn, principal, result)
    shutil.rmtree(path.parent, ignore_errors=True)
    return {"upload": token, "status": status, "report": _report(result), "published": published}


def publish_results(conn: Connection, principal: Principal, result) -> list[dict]:
    out = []
    for r in result.rounds:
        out.append(publish_round(conn, principal, r.operation, r.round_number, r.assessment_type, raise_=False))
    return out


def publish_round(conn: Connection, principal: Principal, operation_name: str, number: int,
                  assessment_type: str | None, raise_: bool = True) -> dict:
    from mobtrack.web.services.principal import PUBLISH

    country = conn.execute(select(operation.c.country_iso3).where(operation.c.name == operation_name)).scalar()
    if country is None or not principal.covers(operation_name, country):
        raise ApiError(404, f"operation {operation_name!r} not found")
    if not principal.has(PUBLISH):
        if raise_:
            raise ApiError(403, f"your role ({principal.role}) may not publish")
        return {"operation": operation_name, "round": number, "status": "not-allowed"}
    try:
        with conn.begin_nested():
            return publish(conn, operation_name, number, assessment_type)
    except PublishError as exc:
        if raise_:
            raise ApiError(409, str(exc), exc.blocking[:100]) from exc
        return {"operation": operation_name, "round": number, "status": "blocked", "message": str(exc),
                "blocking": exc.blocking[:20]}
