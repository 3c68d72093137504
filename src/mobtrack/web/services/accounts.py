"""Users, scopes, sessions, API tokens and login rate limiting (used by the server and `mobtrack user`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from mobtrack.web import security
from mobtrack.web.services.principal import ROLES, TOTP_ROLES, Principal
from mobtrack.web.tables import (
    web_api_token,
    web_login_attempt,
    web_session,
    web_setting,
    web_user,
    web_user_scope,
)

SESSION_IDLE = timedelta(minutes=30)  # issue 4, item 7
SESSION_MAX = timedelta(hours=12)
# Login rate limit: failures per username, and per client address, within the window.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


class LoginRefused(Exception):
    def __init__(self, message: str, retry_after: int | None = None, needs_code: bool = False):
        super().__init__(message)
        self.retry_after, self.needs_code = retry_after, needs_code


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone-aware columns; every stored time is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@dataclass
class NewUser:
    id: int
    username: str
    totp_secret: str | None

    @property
    def totp_uri(self) -> str | None:
        return security.totp_uri(self.totp_secret, self.username) if self.totp_secret else None


def parse_scopes(operations: list[str] | None, countries: list[str] | None) -> list[tuple[str, str]]:
    scopes = [("operation", o.strip()) for o in operations or [] if o.strip()]
    scopes += [("country", c.strip().upper()) for c in countries or [] if c.strip()]
    for kind, value in scopes:
        if kind == "country" and value != "*" and (len(value) != 3 or not value.isalpha()):
            raise AccountError(f"country scope {value!r} is not an ISO 3166 alpha-3 code (e.g. HTI) or '*'")
    return scopes


def add_user(conn: Connection, username: str, password: str, role: str, organisation: str,
             operations: list[str] | None = None, countries: list[str] | None = None,
             display_name: str | None = None, email: str | None = None) -> NewUser:
    username = username.strip()
    if not username or len(username) > 100 or any(ch.isspace() for ch in username):
        raise AccountError("a username is 1 to 100 characters without spaces")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not organisation.strip():
        raise AccountError("every user belongs to an organisation (data-sharing agreements are per organisation)")
    scopes = parse_scopes(operations, countries)
    if role != "admin" and not scopes:
        raise AccountError(f"a {role} needs at least one scope: --operation NAME or --country ISO3 ('*' for all)")
    if conn.execute(select(web_user.c.id).where(web_user.c.username == username)).first():
        raise AccountError(f"a user {username!r} already exists")
    try:
        security.check_password_policy(password, [username, organisation, display_name or "", email or ""])
    except security.PasswordRejected as exc:
        raise AccountError(str(exc)) from exc
    totp = security.new_totp_secret() if role in TOTP_ROLES else None
    uid = conn.execute(insert(web_user).values(
        username=username, display_name=display_name, email=email, organisation=organisation.strip(), role=role,
        password_hash=security.hash_password(password), totp_secret=totp, active=True, created_at=now(),
    ).returning(web_user.c.id)).scalar_one()
    if scopes:
        conn.execute(insert(web_user_scope), [{"user_id": uid, "kind": k, "value": v} for k, v in scopes])
    return NewUser(uid, username, totp)


def list_users(conn: Connection) -> list[dict]:
    users = conn.execute(select(web_user.c.id, web_user.c.username, web_user.c.display_name, web_user.c.organisation,
                                web_user.c.role, web_user.c.active, web_user.c.created_at, web_user.c.last_login_at,
                                (web_user.c.totp_secret.is_not(None)).label("two_factor"))
                         .order_by(web_user.c.username)).mappings().all()
    scopes: dict[int, list[str]] = {}
    for s in conn.execute(select(web_user_scope).order_by(web_user_scope.c.id)).mappings():
        scopes.setdefault(s["user_id"], []).append(f"{s['kind']}:{s['value']}")
    return [{**u, "scopes": scopes.get(u["id"], [])} for u in users]


def set_active(conn: Connection, username: str, active: bool) -> None:
    uid = conn.execute(select(web_user.c.id).where(web_user.c.username == username)).scalar()
    if uid is None:
        raise AccountError(f"no user {username!r}")
    conn.execute(update(web_user).where(web_user.c.id == uid).values(active=active))
    _forget_tokens()
    if not active:  # a disabled account loses its sessions and tokens at once
        conn.execute(update(web_session).where(web_session.c.user_id == uid, web_session.c.ended_at.is_(None))
                     .values(ended_at=now()))
        conn.execute(update(web_api_token).where(web_api_token.c.user_id == uid, web_api_token.c.revoked_at.is_(None))
                     .values(revoked_at=now()))


def principal_for(conn: Connection, user_id: int, via: str, session_id: int | None = None) -> Principal | None:
    user = conn.execute(select(web_user).where(web_user.c.id == user_id, web_user.c.active.is_(True))).mappings().first()
    if user is None:
        return None
    scopes = conn.execute(select(web_user_scope.c.kind, web_user_scope.c.value)
                          .where(web_user_scope.c.user_id == user_id)).all()
    return Principal(user_id=user["id"], username=user["username"], role=user["role"],
                     organisation=user["organisation"],
                     operations=frozenset(v for k, v in scopes if k == "operation"),
                     countries=frozenset(v for k, v in scopes if k == "country"), via=via, session_id=session_id)


# --- login and sessions -------------------------------------------------------------------------------

def _throttled(conn: Connection, username: str, client: str | None) -> int | None:
    """Seconds to wait before another attempt, or None."""
    since = now() - LOGIN_WINDOW
    failures = select(func.count(), func.min(web_login_attempt.c.at)).where(
        web_login_attempt.c.at >= since, web_login_attempt.c.success.is_(False))
    by_user = conn.execute(failures.where(web_login_attempt.c.username == username)).one()
    by_client = conn.execute(failures.where(web_login_attempt.c.client == client)).one() if client else (0, None)
    for (count, first), limit in ((by_user, MAX_FAILURES_PER_USER), (by_client, MAX_FAILURES_PER_CLIENT)):
        if count >= limit:
            return max(1, int((_aware(first) + LOGIN_WINDOW - now()).total_seconds()))
    return None


def login(conn: Connection, username: str, password: str, code: str | None, client: str | None) -> tuple[str, int]:
    """Check the credentials and open a session. Returns (session token, user id)."""
    username = (username or "").strip()[:100]
    wait = _throttled(conn, username, client)
    if wait:
        raise LoginRefused(f"too many failed logins; try again in {wait // 60 + 1} minutes", retry_after=wait)
    user = conn.execute(select(web_user).where(web_user.c.username == username)).mappings().first()
    ok = security.verify_password(user["password_hash"] if user else security.DUMMY_HASH, password or "")
    needs_code = bool(user and (user["totp_secret"] or user["role"] in TOTP_ROLES))
    if ok and user and needs_code:
        if not user["totp_secret"]:
            raise LoginRefused("this role needs two-factor authentication and it is not set up: ask an admin")
        if not code:
            # not counted as a failure: the form asks for the code next
            raise LoginRefused("enter the 6-digit code from your authenticator app", needs_code=True)
        ok = security.verify_totp(user["totp_secret"], code)
    ok = ok and user is not None and user["active"]
    conn.execute(insert(web_login_attempt).values(username=username, client=client, at=now(), success=bool(ok)))
    if not ok:
        raise LoginRefused("wrong username, password or code, or the account is disabled", needs_code=needs_code)
    if security.needs_rehash(user["password_hash"]):
        conn.execute(update(web_user).where(web_user.c.id == user["id"])
                     .values(password_hash=security.hash_password(password)))
    conn.execute(update(web_user).where(web_user.c.id == user["id"]).values(last_login_at=now()))
    token = security.new_token("ms")
    conn.execute(insert(web_session).values(token_hash=security.digest(token), user_id=user["id"], created_at=now(),
                                            last_seen_at=now(), client=client))
    return token, user["id"]


def session_principal(conn: Connection, token: str) -> Principal | None:
    """The user of a live session, refreshing its idle timer; None when unknown, ended or timed out."""
    row = conn.execute(select(web_session).where(web_session.c.token_hash == security.digest(token),
                                                 web_session.c.ended_at.is_(None))).mappings().first()
    if row is None:
        return None
    moment = now()
    if moment - _aware(row["last_seen_at"]) > SESSION_IDLE or moment - _aware(row["created_at"]) > SESSION_MAX:
        conn.execute(update(web_session).where(web_session.c.id == row["id"]).values(ended_at=moment))
        return None
    # Refresh at most once a minute: a busy page must not turn every read into a write.
    if moment - _aware(row["last_seen_at"]) > timedelta(minutes=1):
        conn.execute(update(web_session).where(web_session.c.id == row["id"]).values(last_seen_at=moment))
    return principal_for(conn, row["user_id"], "session", row["id"])


def logout(conn: Connection, token: str) -> None:
    conn.execute(update(web_session).where(web_session.c.token_hash == security.digest(token),
                                           web_session.c.ended_at.is_(None)).values(ended_at=now()))


# --- API tokens -----------------------------------------------------------------------------------------

def create_token(conn: Connection, user_id: int, name: str, days: int | None = 365) -> str:
    token = security.new_token("mt")
    conn.execute(insert(web_api_token).values(
        token_hash=security.digest(token), prefix=token[:10], user_id=user_id, name=name[:200] or "token",
        created_at=now(), expires_at=now() + timedelta(days=days) if days else None))
    return token


# Scripts call many times a second; a token's user is looked up at most every TOKEN_TTL seconds per
# process. Disabling a user or revoking a token here clears it at once; other worker processes
# follow within TOKEN_TTL.
TOKEN_TTL = 10.0
_TOKENS: dict[tuple, tuple[float, Principal]] = {}


def _forget_tokens() -> None:
    _TOKENS.clear()


def known_token_principal(db_url: str, token: str) -> Principal | None:
    """The token's user if this process looked it up within TOKEN_TTL (no database read); else None."""
    hit = _TOKENS.get((db_url, security.digest(token)))
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def token_principal(conn: Connection, token: str) -> Principal | None:
    url = str(conn.engine.url)
    hit = known_token_principal(url, token)
    if hit is not None:
        return hit
    principal = _token_principal(conn, token)
    if principal is not None:
        if len(_TOKENS) > 10_000:
            _TOKENS.clear()
        _TOKENS[(url, security.digest(token))] = (time.monotonic() + TOKEN_TTL, principal)
    return principal


def _token_principal(conn: Connection, token: str) -> Principal | None:
    row = conn.execute(select(web_api_token).where(web_api_token.c.token_hash == security.digest(token),
                                                   web_api_token.c.revoked_at.is_(None))).mappings().first()
    if row is None or (row["expires_at"] is not None and _aware(row["expires_at"]) < now()):
        return None
    last = _aware(row["last_used_at"])
    if last is None or now() - last > timedelta(minutes=5):
        conn.execute(update(web_api_token).where(web_api_token.c.id == row["id"]).values(last_used_at=now()))
    return principal_for(conn, row["user_id"], "token")


def list_tokens(conn: Connection, user_id: int) -> list[dict]:
    rows = conn.execute(select(web_api_token.c.id, web_api_token.c.name, web_api_token.c.prefix,
                               web_api_token.c.created_at, web_api_token.c.expires_at, web_api_token.c.last_used_at,
                               web_api_token.c.revoked_at)
                        .where(web_api_token.c.user_id == user_id).order_by(web_api_token.c.id)).mappings().all()
    return [dict(r) for r in rows]


def revoke_token(conn: Connection, user_id: int, token_id: int) -> bool:
    done = conn.execute(update(web_api_token).where(and_(web_api_token.c.id == token_id,
                                                         web_api_token.c.user_id == user_id,
                                                         web_api_token.c.revoked_at.is_(None)))
                        .values(revoked_at=now()))
    _forget_tokens()
    return done.rowcount > 0


def forget_old_attempts(conn: Connection, days: int = 30) -> None:
    conn.execute(delete(web_login_attempt).where(web_login_attempt.c.at < now() - timedelta(days=days)))


def secret_key(conn: Connection) -> str:
    """The server's signing key, made once and shared by every worker through the database."""
    found = conn.execute(select(web_setting.c.value).where(web_setting.c.key == "secret_key")).scalar()
    if found:
        return found
    key = security.new_token("sk")
    conn.execute(insert(web_setting).values(key="secret_key", value=key))
    return key
