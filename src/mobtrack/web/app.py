"""The ASGI application: `create_app(db_url)` wires the API, the v3 layer, the pages and the checks.

    from mobtrack.web.app import create_app
    app = create_app("sqlite:///mobtrack.db")     # or: mobtrack serve --db mobtrack.db
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from mobtrack.store.db import ensure_schema, resolve_url
from mobtrack.web import errors
from mobtrack.web.auth import csrf_cookie_header, csrf_protect
from mobtrack.web.auth import router as auth_router
from mobtrack.web.templating import STATIC

API_DESCRIPTION = """Displacement figures per place and round, with provenance on every row.

Anonymous callers see published rounds only, with small counts suppressed (`value` null,
`suppressed` true). Log in (session cookie + `X-CSRF-Token` on writes) or send
`Authorization: Bearer <token>` for more, as your role allows. Errors always have the body
`{"ok": false, "error": "...", "errors": [...], "status": N}`. Lists are paged with `limit` and the
`next` cursor. Responses built only from published rounds carry an ETag (send `If-None-Match`).
"""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Everything is served from this origin: no CDN, no external tiles unless configured.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}


def create_app(db_url: str | None = None, secure_cookies: bool | None = None,
               upload_dir: Path | None = None, fast_path: bool = True) -> FastAPI:
    """`fast_path=False`: every request through FastAPI's routes (what web.fast_path is checked against)."""
    url = resolve_url(db_url)
    engine = ensure_schema(url)
    app = FastAPI(title="mobtrack API", version="1", description=API_DESCRIPTION,
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
                  dependencies=[Depends(csrf_protect)])
    app.state.engine = engine
    app.state.db_url = url
    if secure_cookies is None:  # on by default; off only when asked (plain-HTTP laptop use)
        secure_cookies = os.environ.get("MOBTRACK_SECURE_COOKIES", "1") not in ("0", "false", "no")
    app.state.secure_cookies = secure_cookies
    folder = upload_dir or Path(os.environ.get("MOBTRACK_UPLOAD_DIR") or Path(tempfile.gettempdir()) / "mobtrack-uploads")
    folder.mkdir(parents=True, exist_ok=True)
    app.state.upload_dir = folder
    from mobtrack.web.services.accounts import secret_key

    with engine.begin() as conn:
        app.state.secret_key = os.environ.get("MOBTRACK_SECRET_KEY") or secret_key(conn)

    errors.install(app)
    default_openapi = app.openapi

    def openapi() -> dict:  # FastAPI's document, with the errors this app really answers with
        if not getattr(app.state, "openapi_documented", False):
            errors.document(default_openapi())
            app.state.openapi_documented = True
        return app.openapi_schema

    app.openapi = openapi
    if fast_path:
        from mobtrack.web.fast_path import FastPath

        app.add_middleware(FastPath)  # inside HeadersMiddleware: its answers get the security headers too
    app.add_middleware(HeadersMiddleware)

    from mobtrack.web import v3
    from mobtrack.web.api import router as api_router

    app.include_router(api_router)
    app.include_router(v3.router)
    app.include_router(auth_router)
    if importlib.util.find_spec("mobtrack.web.pages") is not None:
        from mobtrack.web.pages import router as pages_router

        app.include_router(pages_router)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs(request: Request):
        """Swagger UI from our own static files (FastAPI's docs load it from a CDN, with an inline script)."""
        if (STATIC / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").is_file():
            from mobtrack.web.templating import templates

            return templates.TemplateResponse(request, "api_docs.html", {"openapi_url": app.openapi_url})
        return HTMLResponse(_plain_docs(app.openapi()))

    return app


class HeadersMiddleware:
    """Security headers on every response, and the pre-login CSRF cookie when a page made one.

    Plain ASGI rather than @app.middleware("http"): that wrapper costs a task and a stream per request.
    """

    def __init__(self, app):
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                cookie = csrf_cookie_header(scope)
                if cookie:
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _plain_docs(spec: dict) -> str:
    """API reference without JavaScript: used when Swagger UI's files are not installed."""
    from html import escape

    rows = []
    for path, methods in sorted(spec["paths"].items()):
        for method, op in methods.items():
            params = ", ".join(escape(p["name"]) for p in op.get("parameters", []))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(op.get('summary', ''))}<br><small>{params}</small></td></tr>")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>mobtrack API</title>"
            f"<h1>mobtrack API</h1><p>{escape(spec['info']['description'])}</p>"
            f"<p><a href='/api/v1/openapi.json'>OpenAPI document</a></p>"
            f"<table><thead><tr><th>method<th>path<th>what</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def app_from_env() -> FastAPI:
    """Factory for several worker processes (`mobtrack serve --workers N`): settings come from the environment."""
    return create_app(os.environ.get("MOBTRACK_DATABASE_URL"))
