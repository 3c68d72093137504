"""Login with sessions, CSRF, TOTP, rate limiting, timeouts, password policy and API tokens."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from mobtrack.web import security
from mobtrack.web.services import accounts
from mobtrack.web.tables import web_login_attempt, web_session
from tests.web.conftest import OPERATION, PASSWORD


def csrf_of(client):
    page = client.get("/auth/login")
    assert page.status_code == 200
    marker = 'name="csrf_token" value="'
    text = page.text
    return text[text.index(marker) + len(marker):].split('"', 1)[0]


def log_in(client, store, role, code=None):
    user = store["users"][role]
    data = {"username": user["username"], "password": PASSWORD, "csrf_token": csrf_of(client), "next": "/"}
    if user["totp"]:
        data["code"] = code or security.totp_code(user["totp"])
    return client.post("/auth/login", data=data, follow_redirects=False)


def test_login_sets_a_secure_session_cookie_and_identifies_the_user(client, store):
    r = log_in(client, store, "viewer")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/me").json()["data"]["username"] == "viewer-user"


def test_secure_flag_is_on_by_default(store, tmp_path):
    from fastapi.testclient import TestClient

    from mobtrack.web.app import create_app

    app = create_app(store["db_url"], upload_dir=tmp_path)
    with TestClient(app, base_url="https://testserver") as c:
        r = log_in(c, store, "viewer")
        assert "secure" in r.headers["set-cookie"].lower()


def test_login_without_csrf_token_is_refused(client, store):
    r = client.post("/auth/login", data={"username": "viewer-user", "password": PASSWORD})
    assert r.status_code == 403


def test_unsafe_requests_on_a_session_need_the_csrf_token(client, store):
    log_in(client, store, "manager")
    r = client.post("/api/v1/tokens", json={"name": "script"})
    assert r.status_code == 403
    token = client.get("/auth/login")  # any page: the token is derived from the session
    csrf = csrf_of(client)
    r = client.post("/api/v1/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    new = r.json()["data"]["token"]
    assert token.status_code == 200
    # the new token works without cookies and without CSRF
    from fastapi.testclient import TestClient

    with TestClient(client.app) as other:
        me = other.get("/api/v1/me", headers={"Authorization": f"Bearer {new}"}).json()["data"]
        assert me["username"] == "manager-user" and me["via"] == "token"


def test_roles_that_read_raw_figures_need_a_second_factor(client, store):
    r = log_in(client, store, "analyst", code="000000" if security.totp_code(store["users"]["analyst"]["totp"])
               != "000000" else "111111")
    assert r.status_code == 401
    assert client.get("/api/v1/me").json()["data"]["username"] is None
    assert log_in(client, store, "analyst").status_code == 303


def test_wrong_password_is_refused_and_logins_are_rate_limited(client, store, app):
    data = {"username": "data-entry-user", "password": "wrong wrong wrong wrong"}
    for _ in range(accounts.MAX_FAILURES_PER_USER):
        r = client.post("/auth/login", data={**data, "csrf_token": csrf_of(client)})
        assert r.status_code == 401
    r = client.post("/auth/login", data={"username": "data-entry-user", "password": PASSWORD,
                                         "csrf_token": csrf_of(client)})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    with app.state.engine.begin() as conn:  # the window passes
        conn.execute(update(web_login_attempt).values(at=accounts.now() - accounts.LOGIN_WINDOW - timedelta(seconds=1)))
    assert log_in(client, store, "data-entry").status_code == 303


@pytest.mark.parametrize("age, field", [(accounts.SESSION_IDLE, "last_seen_at"), (accounts.SESSION_MAX, "created_at")])
def test_sessions_time_out(client, store, app, age, field):
    log_in(client, store, "viewer")
    assert client.get("/api/v1/me").json()["data"]["username"] == "viewer-user"
    with app.state.engine.begin() as conn:
        conn.execute(update(web_session).values({field: accounts.now() - age - timedelta(seconds=5)}))
    assert client.get("/api/v1/me").json()["data"]["username"] is None


def test_logout_ends_the_session(client, store):
    log_in(client, store, "viewer")
    csrf = csrf_of(client)
    r = client.post("/auth/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").json()["data"]["username"] is None


def test_open_redirects_are_refused(client, store):
    user = store["users"]["viewer"]
    r = client.post("/auth/login", data={"username": user["username"], "password": PASSWORD,
                                         "csrf_token": csrf_of(client), "next": "https://evil.example/"},
                    follow_redirects=False)
    assert r.headers["location"] == "/"


@pytest.mark.parametrize("password, ok", [
    ("short", False), ("passwordpassword", False), ("aaaaaaaaaaaaaaaaaaaa", False), ("1234567890123456", False),
    ("violet anchor drizzle compass 42", True), ("x" * 10 + "Tq7#mzLp!vR2&kW9", True), ("w0rd " * 30, False),
])
def test_password_policy(password, ok):
    if ok:
        security.check_password_policy(password)
    else:
        with pytest.raises(security.PasswordRejected):
            security.check_password_policy(password)


def test_secrets_are_hashed_at_rest(store, app):
    from sqlalchemy import select

    from mobtrack.web.tables import web_api_token, web_user

    with app.state.engine.connect() as conn:
        hashes = conn.execute(select(web_user.c.password_hash)).scalars().all()
        tokens = conn.execute(select(web_api_token.c.token_hash)).scalars().all()
    assert all(h.startswith("$argon2") for h in hashes)
    assert store["users"]["viewer"]["token"] not in tokens
    assert security.digest(store["users"]["viewer"]["token"]) in tokens


def test_totp_matches_rfc_6238():
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert security.totp_code(secret, 59) == "287082"
    assert security.totp_code(secret, 1111111109) == "081804"
    assert security.verify_totp(secret, "287082", at=59 + 25)
    assert not security.verify_totp(secret, "287082", at=59 + 95)


def test_a_disabled_user_loses_tokens_and_sessions(store, app, client):
    with app.state.engine.begin() as conn:
        made = accounts.add_user(conn, "temp-user", PASSWORD, "viewer", "Test org", operations=[OPERATION])
        token = accounts.create_token(conn, made.id, "t")
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=h).json()["data"]["username"] == "temp-user"
    with app.state.engine.begin() as conn:
        accounts.set_active(conn, "temp-user", False)
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_users_need_a_scope_and_a_known_role(app):
    with app.state.engine.begin() as conn, pytest.raises(accounts.AccountError, match="scope"):
        accounts.add_user(conn, "x-user", PASSWORD, "viewer", "Org")
    with app.state.engine.begin() as conn, pytest.raises(accounts.AccountError, match="role"):
        accounts.add_user(conn, "y-user", PASSWORD, "superuser", "Org")
