"""Imports in the browser: upload a file -> read its validation report -> import it -> publish its rounds.

The work is the service layer's (services.imports, shared with the API): the file is checked by a dry run
of the real import pipeline and kept under a random token; confirming imports exactly that file.
Each step answers with a redirect to a page that can be reloaded safely (post/redirect/get).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection, select

from mobtrack.ingest import ImportOptions
from mobtrack.store.schema import operation, round_
from mobtrack.web.auth import client_of, connection, require_login
from mobtrack.web.errors import ApiError
from mobtrack.web.pages._render import render, translator
from mobtrack.web.services import audit
from mobtrack.web.services import imports as service
from mobtrack.web.services.principal import PUBLISH, UPLOAD, Principal

router = APIRouter()


def db_url(request: Request) -> str:
    url = getattr(request.app.state, "db_url", None)
    return url or request.app.state.engine.url.render_as_string(hide_password=False)


def upload_folder(request: Request) -> Path:
    folder = getattr(request.app.state, "upload_dir", None)
    return Path(folder) if folder else Path(tempfile.gettempdir()) / "mobtrack-uploads"


def round_states(conn: Connection, report: dict | None) -> list[dict]:
    """The report's rounds with their status now (they may have been published since)."""
    out = []
    for r in (report or {}).get("rounds", []):
        status = conn.execute(
            select(round_.c.status).join(operation, operation.c.id == round_.c.operation_id)
            .where(operation.c.name == r["operation"], round_.c.number == r["round_number"],
                   round_.c.assessment_type == r["assessment_type"])).scalar()
        out.append({**r, "current_status": status})
    return out


@router.get("/imports", name="imports")
def imports_page(request: Request, upload: str | None = None, message: str | None = None,
                 conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    t = translator(request)
    if not user.has(UPLOAD):
        return render(request, "error.html", status_code=403, message=t("Your role cannot import files."))
    found = None
    if upload:
        try:
            found = service.get(conn, user, upload)
        except ApiError as exc:
            return render(request, "error.html", status_code=exc.status, message=exc.message)
    return render(request, "imports.html", nav="imports", upload=found, message=message,
                  rounds=round_states(conn, found["report"]) if found else [], can_publish=user.has(PUBLISH))


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdecimal():  # isdigit() is true of "¹", which int() refuses
        raise ApiError(400, f"round must be a whole number, not {text!r}")
    return int(text)


@router.post("/imports", name="imports_upload")
def imports_upload(request: Request, file: UploadFile = File(...), operation_name: str = Form(""),
                   country: str = Form(""), assessment_type: str = Form(""), round_number: str = Form(""),
                   conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    t = translator(request)
    try:
        if not user.has(UPLOAD):
            raise ApiError(403, t("Your role cannot import files."))
        if not file.filename:
            raise ApiError(400, t("Choose a file to upload."))
        options = ImportOptions(operation=operation_name.strip() or None, country_iso3=country.strip().upper() or None,
                                assessment_type=assessment_type.strip().upper() or None,
                                round_number=_int_or_none(round_number))
        folder = upload_folder(request)
        folder.mkdir(parents=True, exist_ok=True)
        path = service.save_upload(file.file, file.filename, folder)
        checked = service.check(conn, user, db_url(request), path, options)
    except ApiError as exc:
        return render(request, "imports.html", nav="imports", upload=None, rounds=[], message=exc.message,
                      error=True, can_publish=user.has(PUBLISH), status_code=exc.status)
    audit.record(conn, user, "upload", target=file.filename, client=client_of(request),
                 details={"status": checked["status"]})
    conn.commit()  # before the redirect: the next page reads the upload (see quality.review_decide)
    return RedirectResponse(request.url_for("imports").include_query_params(upload=checked["upload"]),
                            status_code=303)


@router.post("/imports/{token}/confirm", name="imports_confirm")
def imports_confirm(request: Request, token: str, publish: str = Form(""), conn: Connection = Depends(connection),
                    user: Principal = Depends(require_login)):
    back = request.url_for("imports").include_query_params(upload=token)
    try:
        done = service.confirm(conn, user, db_url(request), token, publish_rounds=bool(publish) and user.has(PUBLISH))
    except ApiError as exc:
        conn.rollback()
        return RedirectResponse(back.include_query_params(message=exc.message), status_code=303)
    audit.record(conn, user, "import", target=token, client=client_of(request), details={"status": done["status"]})
    t = translator(request)
    message = t("Imported: {n} round(s).", n=len(done["report"].get("rounds", []))) if done["status"] == "imported" \
        else t("Nothing changed: the database already holds this content.") if done["status"] == "unchanged" \
        else done["report"].get("message") or t("The file was rejected.")
    conn.commit()
    return RedirectResponse(back.include_query_params(message=message), status_code=303)


@router.post("/imports/publish", name="imports_publish")
def imports_publish(request: Request, operation: str = Form(...), round_number: int = Form(...),
                    assessment_type: str = Form(""), upload: str = Form(""),
                    conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    t = translator(request)
    back = request.url_for("imports")
    if upload:
        back = back.include_query_params(upload=upload)
    try:
        service.publish_round(conn, user, operation, round_number, assessment_type or None)
    except ApiError as exc:
        conn.rollback()
        return RedirectResponse(back.include_query_params(message=exc.message), status_code=303)
    audit.record(conn, user, "publish", target=f"{operation}/{assessment_type}/{round_number}",
                 client=client_of(request))
    conn.commit()
    return RedirectResponse(back.include_query_params(
        message=t("Round {n} of {operation} is published.", n=round_number, operation=operation)), status_code=303)
