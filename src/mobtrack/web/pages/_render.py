"""Rendering a page: the shared Jinja environment plus what every template needs about the visitor.

The context processor below is registered on the environment the login page uses too
(mobtrack.web.templating), so base.html can translate and show the account bar whichever router renders.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from mobtrack.web.i18n import LANGUAGES, Translator, negotiate
from mobtrack.web.services.protection import threshold
from mobtrack.web.templating import templates

LANG_COOKIE = "lang"


def translator(request: Request) -> Translator:
    cached = getattr(request.state, "translator", None)
    if cached is None:
        cached = request.state.translator = Translator(
            negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")))
    return cached


def _url(request: Request, name: str) -> str | None:
    try:
        return str(request.url_for(name).path)
    except Exception:  # noqa: BLE001 -- a route the app does not have (e.g. pages mounted without auth)
        return None


def page_context(request: Request) -> dict:
    from mobtrack.web.auth import csrf_token, user_of

    t = translator(request)
    user = user_of(request)
    return {
        "_": t, "t": t, "lang": t.lang, "languages": LANGUAGES, "threshold": threshold(),
        "user": None if user.anonymous else user, "principal": user,
        "csrf": csrf_token(request), "login_url": _url(request, "login_page"), "logout_url": _url(request, "logout"),
        "quote": lambda text: quote(str(text), safe=""),
        # Paths, not absolute URLs: the pages keep working behind a proxy that rewrites the host.
        "path_for": lambda name, **params: request.url_for(name, **params).path,
    }


if page_context not in templates.context_processors:
    templates.context_processors.append(page_context)


def render(request: Request, template: str, nav: str | None = None, status_code: int = 200,
           **context) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"nav": nav, **context}, status_code=status_code)
