"""Your account, your API tokens, and (admins) the list of users."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from mobtrack.web.api._common import Id
from mobtrack.web.api.models import Item, Me, NewTokenAnswer, Revoked, Token, User, answers
from mobtrack.web.auth import client_of, connection, current_user, require_login, require_permission
from mobtrack.web.errors import ApiError
from mobtrack.web.services import accounts, audit
from mobtrack.web.services.principal import MANAGE_USERS, Principal

router = APIRouter(tags=["account"])


@router.get("/me", responses=answers(Item[Me]))
def me(user: Principal = Depends(current_user)):
    """Who the server thinks you are (anonymous without a session or token)."""
    return {"ok": True, "data": {"username": user.username, "role": user.role, "organisation": user.organisation,
                                 "operations": sorted(user.operations), "countries": sorted(user.countries),
                                 "via": user.via}}


class NewToken(BaseModel):
    name: str = Field(..., min_length=1, max_length=200, description="What the token is for, e.g. 'weekly report'.")
    days: int | None = Field(365, ge=1, le=3650, description="Days until it expires.")


@router.post("/tokens", status_code=201, responses=answers(Item[NewTokenAnswer], 400, 403, status=201))
def create_token(request: Request, body: NewToken, conn: Connection = Depends(connection),
                 user: Principal = Depends(require_login)):
    """A new API token for scripts; it is shown once (only its hash is stored)."""
    if user.via != "session":
        raise ApiError(403, "create tokens from a logged-in session, not with another token")
    token = accounts.create_token(conn, user.user_id, body.name, body.days)
    audit.record(conn, user, "token-created", body.name, client=client_of(request))
    return {"ok": True, "data": {"token": token, "name": body.name}}


@router.get("/tokens", responses=answers(Item[list[Token]]))
def list_tokens(conn: Connection = Depends(connection), user: Principal = Depends(require_login)):
    return {"ok": True, "data": accounts.list_tokens(conn, user.user_id)}


@router.delete("/tokens/{token_id}", responses=answers(Item[Revoked], 400, 403, 404))
def revoke_token(request: Request, token_id: int = Id(), conn: Connection = Depends(connection),
                 user: Principal = Depends(require_login)):
    if not accounts.revoke_token(conn, user.user_id, token_id):
        raise ApiError(404, f"token {token_id} not found")
    audit.record(conn, user, "token-revoked", str(token_id), client=client_of(request))
    return {"ok": True, "data": {"revoked": token_id}}


@router.get("/users", responses=answers(Item[list[User]], 403))
def users(conn: Connection = Depends(connection), user: Principal = Depends(require_permission(MANAGE_USERS))):
    return {"ok": True, "data": accounts.list_users(conn)}
