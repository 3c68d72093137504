"""Who is calling, and the checks every route uses: sessions, API tokens, roles, CSRF, login/logout.

For the pages and the API alike:

- `current_user` (dependency) -> Principal: from `Authorization: Bearer <token>`, the DTM API's
  `Ocp-Apim-Subscription-Key` header (so `dtmapi` clients use a mobtrack token as their key), or the
  session cookie. Anonymous callers get `ANONYMOUS`.
- `require_login`, `require_role("manager", "admin")`, `require_permission(PUBLISH)` (dependencies).
- `csrf_token(request)`: the token a form or fetch() must send back (field `csrf_token` or header
  `X-CSRF-Token`) on every unsafe request authenticated by the session cookie. Tokens are HMACs of
  the session token (or, before login, of a random cookie) under the server's key, so they cannot
  be forged from another site and a stolen one dies with its session.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from mobtrack.web import security
from mobtrack.web.errors import ApiError
from mobtrack.web.services import accounts, audit
from mobtrack.web.services.principal import ANONYMOUS, Principal

SESSION_COOKIE = "mobtrack_session"
CSRF_COOKIE = "mobtrack_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def connection(request: Request) -> Iterator[Connection]:
    """One connection per request, committed when the endpoint returns, rolled back when it raises.

    An endpoint that hands work to code opening its own transaction (imports) commits first, so that
    SQLite's single writer is not held by the request while it waits.
    """
    with request.app.state.engine.connect() as conn:
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("ocp-apim-subscription-key") or None


def resolve_principal(request: Request, conn: Connection) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = ANONYMOUS
    token = _bearer(request)
    if token:
        principal = accounts.token_principal(conn, token)
        if principal is None:
            raise ApiError(401, "invalid, expired or revoked API token", headers={"WWW-Authenticate": "Bearer"})
    elif request.cookies.get(SESSION_COOKIE):
        principal = accounts.session_principal(conn, request.cookies[SESSION_COOKIE]) or ANONYMOUS
    request.state.principal = principal
    return principal


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _sent_token(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        # FastAPI has parsed (and cached) the form for the endpoint already; this reads the cache.
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    return sent


async def csrf_protect(request: Request, conn: Connection = Depends(connection)) -> None:
    """Global dependency: unsafe requests riding on the session cookie must carry the CSRF token."""
    if request.method in SAFE_METHODS:
        return
    principal = resolve_principal(request, conn)
    if principal.via != "session":
        return  # bearer tokens are not sent by browsers on their own; anonymous writes fail on auth
    if not security.same(await _sent_token(request), csrf_token(request)):
        raise ApiError(403, "missing or wrong CSRF token: reload the page and try again")


def csrf_token(request: Request) -> str:
    seed = request.cookies.get(SESSION_COOKIE) or _csrf_seed(request)
    return security.sign(request.app.state.secret_key, f"csrf:{seed}")


def _csrf_seed(request: Request) -> str:
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_seed", None)
    if seed is None:
        seed = request.state.new_csrf_seed = secrets.token_urlsafe(24)
    return seed


def csrf_cookie_header(scope) -> str | None:
    """The Set-Cookie value for a pre-login CSRF seed made while handling this request, if any."""
    state = scope.get("state") or {}
    seed = state.get("new_csrf_seed")
    if not seed:
        return None
    app = scope["app"]
    secure = "; Secure" if app.state.secure_cookies else ""
    return f"{CSRF_COOKIE}={seed}; HttpOnly; Path=/; SameSite=Lax{secure}"


def _known_principal(request: Request) -> Principal | None:
    """The caller when no database read is needed to tell (anonymous, or a token this process checked
    within accounts.TOKEN_TTL); None otherwise."""
    known = getattr(request.state, "principal", None)
    if known is None:
        token = _bearer(request)
        if token:
            known = accounts.known_token_principal(str(request.app.state.engine.url), token)
        elif not request.cookies.get(SESSION_COOKIE):
            known = ANONYMOUS
        if known is not None:
            request.state.principal = known
    return known


async def current_user(request: Request, conn: Connection = Depends(connection)) -> Principal:
    # async, so that a caller known without the database costs no trip to a worker thread (each one
    # is a wake-up of another thread, and under load a wait for a core); the rest read the database
    # in a worker thread, as a plain `def` dependency would.
    return _known_principal(request) or await run_in_threadpool(resolve_principal, request, conn)


def user_of(request: Request) -> Principal:
    """For templates: the principal resolved for this request (anonymous when none was)."""
    return getattr(request.state, "principal", None) or ANONYMOUS


def require_login(user: Principal = Depends(current_user)) -> Principal:
    if user.anonymous:
        raise ApiError(401, "log in or send an API token (Authorization: Bearer ...)",
                       headers={"WWW-Authenticate": "Bearer"})
    return user


def require_role(*roles: str):
    def check(user: Principal = Depends(require_login)) -> Principal:
        if user.role not in roles:
            raise ApiError(403, f"this needs the role {' or '.join(roles)}; you are {user.role}")
        return user
    return check


def require_permission(permission: str):
    def check(user: Principal = Depends(require_login)) -> Principal:
        if not user.has(permission):
            raise ApiError(403, f"your role ({user.role}) may not {permission.replace('-', ' ')}")
        return user
    return check


# --- login and logout -----------------------------------------------------------------------------------

router = APIRouter(tags=["auth"])


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an open redirect after login is a phishing tool.
    if not target or urlsplit(target).scheme or urlsplit(target).netloc or not target.startswith("/") \
            or target.startswith("//"):
        return "/"
    return target


@router.get("/auth/login", include_in_schema=False)
def login_page(request: Request, next: str = "/", conn: Connection = Depends(connection)):
    from mobtrack.web.templating import templates

    resolve_principal(request, conn)
    return templates.TemplateResponse(request, "auth/login.html",
                                      {"next": _safe_next(next), "error": None, "needs_code": False, "username": ""})


@router.post("/auth/login", include_in_schema=False)
def login_submit(request: Request, username: str = Form(""), password: str = Form(""), code: str = Form(""),
                 next: str = Form("/"), csrf: str = Form("", alias="csrf_token"),
                 conn: Connection = Depends(connection)):
    from mobtrack.web.templating import templates

    client = client_of(request)
    # Login CSRF: without it another site could log a victim into the attacker's account.
    if not security.same(csrf or request.headers.get(CSRF_HEADER), csrf_token(request)):
        raise ApiError(403, "missing or wrong CSRF token: reload the login page and try again")
    try:
        token, user_id = accounts.login(conn, username, password, code or None, client)
    except accounts.LoginRefused as exc:
        if not exc.needs_code or "wrong" in str(exc):
            audit.record(conn, Principal(username=username[:100] or None), "login-failed", client=client)
        status = 429 if exc.retry_after else 401 if not exc.needs_code or "wrong" in str(exc) else 200
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return templates.TemplateResponse(
            request, "auth/login.html",
            {"next": _safe_next(next), "error": str(exc), "needs_code": exc.needs_code, "username": username},
            status_code=status, headers=headers)
    principal = accounts.principal_for(conn, user_id, "session")
    audit.record(conn, principal, "login", client=client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=request.app.state.secure_cookies,
                        max_age=int(accounts.SESSION_MAX.total_seconds()), path="/")
    return response


@router.post("/auth/logout", include_in_schema=False)
def logout(request: Request, conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.logout(conn, token)
        if not user.anonymous:
            audit.record(conn, user, "logout", client=client_of(request))
    response: Response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
