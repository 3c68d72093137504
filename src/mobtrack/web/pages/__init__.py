"""The pages: server-rendered HTML over the same services as the API, enhanced by a little JavaScript.

`router` is included by mobtrack.web.app.create_app. One module per page:
home (operations), dashboard (one operation), location (one place), quality (issues, review queue,
what blocks publishing), flows (origin-destination corridors), profile
(a country's figures from global statistics and DTM), imports (upload -> validation report -> import -> publish), downloads.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from mobtrack.web.pages import dashboard, downloads, flows, home, imports, location, profile, quality
from mobtrack.web.pages._render import render, translator

router = APIRouter(include_in_schema=False)
for module in (home, dashboard, location, flows, profile, quality, imports, downloads):
    router.include_router(module.router)



def error_page(request: Request, status: int, message: str, errors: list, headers: dict | None = None):
    """The HTML answer to an error on a page (mobtrack.web.errors calls it for browsers).

    A page that needs a login sends the visitor to the login form and back, rather than showing a 401."""
    if status == 401 and request.method == "GET":
        try:
            login = request.url_for("login_page").path
        except Exception:  # noqa: BLE001 -- an app mounted without the login routes
            login = None
        if login:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{login}?next={quote(here, safe='')}", status_code=303)
    t = translator(request)
    titles = {401: t("Log in needed"), 403: t("Not allowed"), 404: t("Not found")}
    response = render(request, "error.html", status_code=status,
                      title=titles.get(status, t("Something went wrong")), message=message, errors=errors)
    response.headers.update(headers or {})  # e.g. Retry-After on a throttled login
    return response


__all__ = ["error_page", "router"]
