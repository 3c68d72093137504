"""Imports: upload a file -> validation report -> confirm -> (optionally) publish."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from sqlalchemy import Connection

from mobtrack.ingest import ImportOptions
from mobtrack.web.api._common import MAX_INT, forget_stamps
from mobtrack.web.api.models import Imported, Item, Upload, answers
from mobtrack.web.auth import client_of, connection, require_permission
from mobtrack.web.services import audit, imports
from mobtrack.web.services.principal import UPLOAD, Principal

router = APIRouter(tags=["imports"])


@router.post("/imports", responses=answers(Item[Upload], 400, 403, 413))
def upload(request: Request, file: UploadFile = File(..., description="The source file."),
           format: str | None = Form(None), operation: str | None = Form(None), country: str | None = Form(None),
           assessment_type: str | None = Form(None), round: int = Form(None, ge=0, le=MAX_INT), sheet: str | None = Form(None),
           conn: Connection = Depends(connection), user: Principal = Depends(require_permission(UPLOAD))):
    """Check a file without storing it: the validation report, and an upload id to confirm it with."""
    path = imports.save_upload(file.file, file.filename or "upload", request.app.state.upload_dir)
    options = ImportOptions(format=format or None, operation=operation or None,
                            country_iso3=country.upper() if country else None,
                            assessment_type=assessment_type.upper() if assessment_type else None,
                            round_number=round, sheet=sheet or None)
    result = imports.check(conn, user, request.app.state.db_url, path, options)
    audit.record(conn, user, "upload", path.name, client=client_of(request),
                 details={"status": result["status"], "upload": result["upload"]})
    return {"ok": True, "data": result}


@router.get("/imports/{upload_id}", responses=answers(Item[Upload], 403, 404))
def get_upload(upload_id: str, conn: Connection = Depends(connection),
               user: Principal = Depends(require_permission(UPLOAD))):
    return {"ok": True, "data": imports.get(conn, user, upload_id)}


@router.post("/imports/{upload_id}/confirm", responses=answers(Item[Imported], 400, 403, 404, 409))
def confirm(request: Request, upload_id: str,
            publish: bool = Query(False, description="Also publish the rounds when nothing blocks them."),
            conn: Connection = Depends(connection), user: Principal = Depends(require_permission(UPLOAD))):
    """Import the checked file (one transaction); publish its rounds too when asked and allowed."""
    result = imports.confirm(conn, user, request.app.state.db_url, upload_id, publish)
    forget_stamps()
    audit.record(conn, user, "import", upload_id, client=client_of(request),
                 details={"status": result["status"], "published": result["published"]})
    return {"ok": True, "data": result}
