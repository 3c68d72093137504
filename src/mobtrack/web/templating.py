"""The Jinja environment shared by the login page and the pages (`mobtrack.web.pages`).

Templates see `csrf_token(request)` and `current_user(request)` as globals, so every form can write
`<input type="hidden" name="csrf_token" value="{{ csrf_token(request) }}">`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))


def _install_globals() -> None:
    from mobtrack.web.auth import csrf_token, user_of

    templates.env.globals.setdefault("csrf_token", csrf_token)
    templates.env.globals.setdefault("current_user", user_of)


_install_globals()
