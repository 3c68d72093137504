"""Shared parameters and response shapes: cursor pagination, sorting, ETags, JSON from Polars."""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

import polars as pl
from fastapi import Path, Query, Request, Response
from sqlalchemy import Connection

from mobtrack.web.errors import ApiError
from mobtrack.web.services import catalogue
from mobtrack.web.services.principal import Principal

MAX_LIMIT = 10_000
# Ids and round numbers are INTEGER columns: a larger number names nothing, and SQLite's driver cannot
# even bind one past 2**63 (it raised, a 500, until schemathesis sent one).
MAX_INT = 2**31 - 1

Limit = Query(1000, ge=1, le=MAX_LIMIT, description="Rows per page.")
Cursor = Query(None, description="`next` of the previous page.")
Sort = Query(None, description="Column to sort by; prefix with '-' for descending. Ties keep the default order.")


def RoundNumber():  # a function, like Query()
    return Path(ge=0, le=MAX_INT, description="Round number.")


def Id():  # a function: FastAPI names a shared Path() after the first parameter using it
    return Path(ge=1, le=MAX_INT)


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"at": position}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = int(data["at"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "invalid cursor: pass the `next` value of the previous page unchanged") from exc
    if position < 0:
        raise ApiError(400, "invalid cursor")
    return position


def sort_frame(frame: pl.DataFrame, sort: str | None) -> pl.DataFrame:
    if not sort:
        return frame
    column, descending = (sort[1:], True) if sort.startswith("-") else (sort, False)
    if column not in frame.columns:
        raise ApiError(400, f"cannot sort by {column!r}; columns: {', '.join(frame.columns)}")
    return frame.with_row_index("_order").sort([column, "_order"], descending=[descending, False],
                                              nulls_last=True).drop("_order")


def page(frame: pl.DataFrame, cursor: str | None, limit: int) -> tuple[pl.DataFrame, str | None]:
    start = decode_cursor(cursor)
    chunk = frame.slice(start, limit)
    nxt = encode_cursor(start + limit) if start + limit < frame.height else None
    return chunk, nxt


def frame_response(request: Request, frame: pl.DataFrame, cursor: str | None, limit: int, sort: str | None = None,
                   etag: str | None = None, meta: dict | None = None) -> Response:
    """`{"ok": true, "data": [...], "count": N, "next": cursor}`; 304 when the ETag still matches."""
    if etag and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    chunk, nxt = page(sort_frame(frame, sort), cursor, limit)
    head = json.dumps({"ok": True, "count": frame.height, "next": nxt, **(meta or {})})
    # Polars writes the rows straight to JSON: no per-row Python objects on the hot path.
    rows = chunk.write_json() if chunk.height else "[]"
    body = head[:-1] + ', "data": ' + rows + "}"
    headers = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate"} if etag else {}
    return Response(body, media_type="application/json", headers=headers)


def rows_response(rows: list[dict], meta: dict | None = None) -> dict:
    return {"ok": True, "count": len(rows), "next": None, **(meta or {}), "data": rows}


_RESPONSES: OrderedDict[tuple, tuple[bytes, str, dict]] = OrderedDict()
_LOCK = Lock()
MAX_CACHED_RESPONSES = 512


_STAMPS: dict[str, tuple[float, tuple]] = {}
STAMP_TTL = 1.0  # a newly published round reaches anonymous readers within a second


def _stamp(conn: Connection) -> tuple:
    """Changes whenever any round is imported, corrected, published or withdrawn."""
    import time

    url = str(conn.engine.url)
    hit = _STAMPS.get(url)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    stamp = _query_stamp(conn)
    _STAMPS[url] = (time.monotonic() + STAMP_TTL, stamp)
    return stamp


def forget_stamps() -> None:
    """After a change made by this process (import, publish, review): no need to wait for the TTL."""
    _STAMPS.clear()


def _query_stamp(conn: Connection) -> tuple:
    return catalogue.stamp(conn)


def cached(request: Request, conn: Connection, user: Principal, build: Callable[[], Response],
           check: Callable[[], object] | None = None) -> Response:
    """Answers stay the same for one kind of caller until the rounds change: keep the bytes.

    The key holds the caller's role and scopes (what they may see) and the rounds' stamp, so a kept
    answer is only reused for the same visibility of the same data. `check` runs on every reuse: the
    access check, and the audit entry of a raw read (each read is recorded, kept or not).
    """
    who = None if user.anonymous else (user.role, user.operations, user.countries)
    key = (request.app.state.db_url, request.url.path, tuple(sorted(request.query_params.multi_items())), who,
           _stamp(conn))
    with _LOCK:
        hit = _RESPONSES.get(key)
        if hit is not None:
            _RESPONSES.move_to_end(key)
    if hit is None:
        response = build()
        if response.status_code != 200:
            return response
        hit = (bytes(response.body), response.media_type, {k: v for k, v in response.headers.items()
                                                           if k in ("etag", "cache-control")})
        with _LOCK:
            _RESPONSES[key] = hit
            while len(_RESPONSES) > MAX_CACHED_RESPONSES:
                _RESPONSES.popitem(last=False)
    elif check is not None and not user.anonymous:  # the public answer was only kept if allowed
        check()
    body, media, headers = hit
    if headers.get("etag") and request.headers.get("if-none-match") == headers["etag"]:
        return Response(status_code=304, headers={"ETag": headers["etag"]})
    return Response(body, media_type=media, headers=headers)
