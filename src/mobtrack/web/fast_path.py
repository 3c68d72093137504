"""The hottest reads answered in one hop to a worker thread, without FastAPI's per-request machinery.

`/api/v1/operations/{operation}/figures` and `/v3/displacement/admin0|1|2` are what dashboards and
DTM clients poll. Through FastAPI a request paid for routing, dependency solving, per-parameter
validation and three trips to a worker thread (the `connection` dependency's enter and exit and the
endpoint itself): about half of the CPU a cache-bypassed request cost, more than the query.

`FastPath` (ASGI middleware) answers a GET to these paths itself when every parameter it sends is
plainly valid: a known parameter at most once, an integer as ASCII digits within the declared bounds,
a boolean as `true` or `false`, a string within its declared length. It then runs the endpoint's own
answer function (`answer_figures`, `v3.answer`) in one worker thread, on one connection committed at
the end, with the caller resolved as `current_user` resolves it. Anything else (a malformed, repeated
or out-of-range value, a pattern-checked parameter, HEAD, a trailing slash) goes on to the FastAPI
route, which stays the one declaration of the parameters: the rules above are read from it, the
OpenAPI document is its, and its validation errors are the answer to invalid input.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request

from mobtrack.web import errors
from mobtrack.web.auth import resolve_principal
from mobtrack.web.errors import ApiError

_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII digits only: pydantic reads them as int() does
_BOOLS = {"true": True, "false": False}


@dataclass(frozen=True)
class _Param:
    name: str  # the answer function's keyword
    kind: type | None  # int, bool or str; None: a constraint only FastAPI checks
    ge: int | None = None
    le: int | None = None
    max_length: int | None = None

    def parse(self, text: str):
        """The value FastAPI would pass for `text`, or raise ValueError where it might not pass it."""
        if self.kind is str:
            if self.max_length is not None and len(text) > self.max_length:
                raise ValueError
            return text
        if self.kind is int:
            if not _DIGITS.fullmatch(text):
                raise ValueError
            value = int(text)
            if (self.ge is not None and value < self.ge) or (self.le is not None and value > self.le):
                raise ValueError
            return value
        if self.kind is bool and text in _BOOLS:
            return _BOOLS[text]
        raise ValueError


def _param(field) -> _Param:
    info = field.field_info
    annotation = info.annotation
    if get_origin(annotation) in (Union, types.UnionType):  # `int | None`: None is the default, never sent
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    kind = annotation if annotation in (int, bool, str) else None
    limits = {}
    for rule in info.metadata:
        if isinstance(rule, Ge):
            limits["ge"] = rule.ge
        elif isinstance(rule, Le):
            limits["le"] = rule.le
        elif isinstance(rule, MaxLen):
            limits["max_length"] = rule.max_length
        else:  # e.g. a pattern: FastAPI checks it
            kind = None
    return _Param(field.name, kind, **limits)


@dataclass(frozen=True)
class Route:
    path: re.Pattern  # matches the whole path; its groups are the path parameters, in order
    answer: Callable  # answer(request, conn, user, *path_values, **query_values) -> Response
    params: dict[str, _Param]  # by query parameter name

    @classmethod
    def of(cls, path: str, answer: Callable, api_route) -> Route:
        """For the FastAPI route `api_route`, whose query parameters are the answer's keywords."""
        return cls(re.compile(path), answer, {f.alias: _param(f) for f in api_route.dependant.query_params})

    def arguments(self, query_string: bytes) -> dict | None:
        """The answer's keyword arguments for these query parameters; None when FastAPI should judge them."""
        out = {}
        for key, text in QueryParams(query_string).multi_items():
            param = self.params.get(key)
            if param is None:
                continue  # not a parameter of the route: FastAPI ignores it too
            if param.name in out or param.kind is None:
                return None
            try:
                out[param.name] = param.parse(text)
            except ValueError:
                return None
        return out


def default_routes() -> tuple[Route, ...]:
    from mobtrack.web import v3
    from mobtrack.web.api import figures

    def declared(router, name):
        return next(r for r in router.routes if r.name == name)

    def v3_answer(level):
        return lambda request, conn, user, **params: v3.answer(request, conn, user, level, params)

    return (
        Route.of(r"/api/v1/operations/([^/]+)/figures", figures.answer_figures, declared(figures.router, "figures")),
        *(Route.of(rf"/v3/displacement/admin{level}", v3_answer(level), declared(v3.router, f"admin{level}"))
          for level in (0, 1, 2)),
    )


class FastPath:
    """ASGI middleware: answers plainly valid GETs of `default_routes()` itself; passes everything else on."""

    def __init__(self, app, routes: tuple[Route, ...] | None = None):
        self.app = app
        self.routes = default_routes() if routes is None else routes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            for route in self.routes:
                found = route.path.fullmatch(scope["path"])
                if found is None:
                    continue
                kwargs = route.arguments(scope["query_string"])
                if kwargs is not None:
                    request = Request(scope, receive)
                    response = await run_in_threadpool(_answer, request, route, found.groups(), kwargs)
                    await response(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)


def _answer(request: Request, route: Route, path_values: tuple, kwargs: dict):
    """One connection for the request, committed when the answer is ready, rolled back when it raises
    (as auth.connection does); an ApiError gets the app's error body (as its handler gives)."""
    try:
        with request.app.state.engine.connect() as conn:
            try:
                user = resolve_principal(request, conn)
                response = route.answer(request, conn, user, *path_values, **kwargs)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        return response
    except ApiError as exc:
        return errors.respond(request, exc.status, exc.message, exc.errors, exc.headers)
