"""One error body for the whole API: `{"ok": false, "error": ..., "errors": [...], "status": N}`.

Pinned by tests/web/api/test_errors.py. The /v3 layer answers in IOM's envelope instead
(`isSuccess: false, errorMessages`), because its clients (dtmapi) read errors from there.
Pages get the pages engineer's HTML error page when `mobtrack.web.pages` provides one.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("mobtrack.web")


class ErrorBody(BaseModel):
    """The body of every /api/v1 error."""

    ok: Literal[False]
    error: str = Field(description="What went wrong, for a person.")
    errors: list[dict[str, Any]] = Field(description="Details: for invalid input, one item per field "
                                                     "(`field`, `message`, `type`).")
    status: int = Field(description="The HTTP status code, repeated.")


class V3ErrorBody(BaseModel):
    """The body of every /v3 error: IOM's envelope, so that DTM clients read it as they do IOM's."""

    result: list[Any] = Field(max_length=0)
    statusCode: int  # noqa: N815 - IOM's field names
    isSuccess: Literal[False]  # noqa: N815
    errorMessages: list[str]  # noqa: N815
    totalRecordsCount: Literal[0]  # noqa: N815


class ApiError(Exception):
    """Raised by services and endpoints; turned into the error body with this status."""

    def __init__(self, status: int, message: str, errors: list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors or [], headers


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def body(status: int, message: str, errors: list | None = None) -> dict:
    return {"ok": False, "error": message, "errors": errors or [], "status": status}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/v3/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def respond(request: Request, status: int, message: str, errors: list | None = None,
            headers: dict | None = None):
    if request.url.path.startswith("/v3/"):
        return JSONResponse({"result": [], "statusCode": status, "isSuccess": False,
                             "errorMessages": [message, *[e.get("message", str(e)) if isinstance(e, dict) else str(e)
                                                          for e in errors or []]],
                             "totalRecordsCount": 0}, status_code=status, headers=headers)
    if _wants_html(request):
        try:
            from mobtrack.web.pages import error_page  # the pages engineer's HTML error page, when present
        except ImportError:
            error_page = None
        if error_page is not None:
            return error_page(request, status, message, errors or [], headers)
    return JSONResponse(body(status, message, errors), status_code=status, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict]:
    out = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body", "path", "header"))
        out.append({"field": where, "message": e.get("msg", "invalid"), "type": e.get("type")})
    return out


def document(spec: dict) -> dict:
    """Make the OpenAPI document say what the handlers below do.

    FastAPI declares a 422 with its own body on every route with parameters; this API answers invalid
    input with 400 and the error body instead (`_invalid` below), so each 422 is dropped: the routes
    declare their 400 themselves (mobtrack.web.api.models.answers).
    """
    for methods in spec.get("paths", {}).values():
        for op in methods.values():
            op.get("responses", {}).pop("422", None)
    schemas = spec.get("components", {}).get("schemas", {})
    text = str(spec.get("paths"))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in text:
            schemas.pop(name, None)
    return spec


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return respond(request, exc.status, exc.message, exc.errors, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return respond(request, exc.status_code, message, None, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = _validation_errors(exc)
        fields = ", ".join(e["field"] for e in errors if e["field"]) or "the request"
        return respond(request, 400, f"invalid parameters: {fields}", errors)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, 500, "internal error: the server logged the details")
