"""web.fast_path answers the hot reads exactly as their FastAPI routes do, and leaves them the rest."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mobtrack.protect.auditlog import entries, verify
from mobtrack.web import fast_path
from tests.web.conftest import OPERATION, bearer

FIGURES = f"/api/v1/operations/{OPERATION}/figures"
QUERIES = [
    (FIGURES, {"level": 2, "round": 1}), (FIGURES, {"level": 1}), (FIGURES, {"level": 2, "latest": "true"}),
    (FIGURES, {"level": 2, "round": 2}), (FIGURES, {"level": 2, "round": 1, "protected": "true"}),
    (FIGURES, {"level": 2, "round": 1, "protected": "false", "purpose": "checking"}),
    (FIGURES, {"level": 2, "round": 1, "sort": "-value", "limit": 2}), (FIGURES, {"level": 2, "pcode": "SO1101,SO1201"}),
    (FIGURES, {"level": 2, "round": 1, "latest": "true"}), (FIGURES, {"level": 2, "round": 7}),
    (FIGURES, {"level": 2, "round": 1, "cursor": "garbage"}), (FIGURES, {"level": 2, "round": 1, "sort": "nope"}),
    (FIGURES, {"level": 2, "round": 1, "ignored": "x"}),
    # FastAPI's to judge: out of range, not a plain number, repeated, pattern-checked, too long
    (FIGURES, {"level": 9}), (FIGURES, {"level": "1.0"}), (FIGURES, {"round": "-1"}), (FIGURES, {"latest": "yes"}),
    (FIGURES, [("level", "1"), ("level", "2")]), (FIGURES, {"disaggregation": "sex", "round": 1}),
    (FIGURES, {"disaggregation": "nope"}), (FIGURES, {"purpose": "x" * 501, "protected": "false"}),
    (FIGURES, {"limit": 0}), (FIGURES, {"level": ""}),
    ("/api/v1/operations/No such operation/figures", {"round": 1}),
    ("/v3/displacement/admin2", {"Operation": OPERATION}), ("/v3/displacement/admin2", {"Admin0Pcode": "SOM"}),
    ("/v3/displacement/admin2", {"Operation": OPERATION, "FromRoundNumber": 1, "ToRoundNumber": 1}),
    ("/v3/displacement/admin1", {"Operation": OPERATION, "Admin1Pcode": "SO11"}),
    ("/v3/displacement/admin0", {"CountryName": "Somalia"}), ("/v3/displacement/admin2", {}),
    ("/v3/displacement/admin2", {"Operation": OPERATION, "FromReportingDate": "28/01/2024"}),
    ("/v3/displacement/admin2", {"Operation": OPERATION, "FromRoundNumber": "x"}),
]
WHO = [None, "analyst", "viewer", "outsider"]


@pytest.fixture(scope="module")
def slow_app(store, tmp_path_factory):
    """The same app without the fast path: every request goes through FastAPI."""
    from mobtrack.web.app import create_app

    return create_app(store["db_url"], secure_cookies=False, upload_dir=tmp_path_factory.mktemp("uploads"),
                      fast_path=False)


def _answer(client, url, params, headers):
    r = client.get(url, params=params, headers=headers)
    kept = {k: v for k, v in r.headers.items() if k not in ("content-length", "date")}
    return r.status_code, kept, r.content


@pytest.mark.parametrize("who", WHO)
def test_the_fast_path_answers_as_fastapi_does(app, slow_app, store, who):
    assert any(m.cls is fast_path.FastPath for m in app.user_middleware)
    assert not any(m.cls is fast_path.FastPath for m in slow_app.user_middleware)
    headers = bearer(store, who) if who else {}
    with TestClient(app) as fast, TestClient(slow_app) as slow:
        for url, params in QUERIES:
            items = list(params.items()) if isinstance(params, dict) else params
            # A parameter neither reads keeps their answers apart in the response cache, which the two
            # apps share (one process). Twice: the first answer is built, the second comes from the cache.
            for _ in range(2):
                assert _answer(fast, url, [*items, ("probe", "fast")], headers) == \
                    _answer(slow, url, [*items, ("probe", "slow")], headers), (url, params)


def test_what_the_fast_path_takes_and_leaves():
    figures = next(r for r in fast_path.default_routes() if "figures" in r.path.pattern)
    assert figures.arguments(b"level=2&round=13&latest=false&purpose=why&bench=1") == {
        "level": 2, "round": 13, "latest": False, "purpose": "why"}
    for left in (b"level=6", b"level=%EF%BC%91", b"level=+1", b"round=2147483648", b"latest=1", b"level=1&level=1",
                 b"disaggregation=sex", b"limit=0", b"limit=10001", b"purpose=" + b"x" * 501):
        assert figures.arguments(left) is None, left


def test_an_invalid_token_and_the_audit_on_the_fast_path(client, store):
    bad = client.get(FIGURES, params={"round": 1}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["ok"] is False and bad.headers["www-authenticate"] == "Bearer"
    assert bad.headers["x-frame-options"] == "DENY"  # the security headers reach fast answers too
    engine = client.app.state.engine
    before = len(list(entries(engine)))
    for url, params in ((FIGURES, {"level": 2, "round": 1}), ("/v3/displacement/admin2", {"Operation": OPERATION})):
        assert client.get(url, params=params, headers=bearer(store, "analyst")).status_code == 200
    new = list(entries(engine))[before:]
    assert [(e["action"], e["target"], e["actor"]) for e in new] == [
        ("read-unprotected", f"{OPERATION}/figures", "analyst-user"), ("read", "v3/admin2", "analyst-user")]
    assert verify(engine).ok
