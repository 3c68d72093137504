"""Every API error has the same body: {ok, error, errors, status} (and /v3 answers in IOM's envelope)."""

import pytest

from tests.web.conftest import OPERATION

SHAPE = {"ok", "error", "errors", "status"}


@pytest.mark.parametrize("path, params, status", [
    ("/api/v1/operations/No such operation/figures", {}, 404),
    (f"/api/v1/operations/{OPERATION}/figures", {"level": 9}, 400),
    (f"/api/v1/operations/{OPERATION}/figures", {"cursor": "!!"}, 400),
    (f"/api/v1/operations/{OPERATION}/issues", {}, 401),
    ("/api/v1/users", {}, 401),
    ("/api/v1/nowhere", {}, 404),
    ("/api/v1/locations/XX", {}, 400),
])
def test_error_body_is_pinned(client, path, params, status):
    r = client.get(path, params=params)
    body = r.json()
    assert r.status_code == status
    assert set(body) == SHAPE
    assert body["ok"] is False and body["status"] == status and isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], list)


def test_validation_errors_name_the_field(client):
    body = client.get(f"/api/v1/operations/{OPERATION}/figures", params={"level": "two"}).json()
    assert body["errors"][0]["field"] == "level"


def test_bad_token_is_401_with_the_same_body(client):
    r = client.get("/api/v1/operations", headers={"Authorization": "Bearer mt_nonsense"})
    assert r.status_code == 401 and set(r.json()) == SHAPE


def test_v3_errors_use_the_iom_envelope(client):
    r = client.get("/v3/displacement/admin1")
    body = r.json()
    assert r.status_code == 400
    assert body["isSuccess"] is False and body["result"] == [] and body["errorMessages"]
    assert set(body) == {"result", "statusCode", "isSuccess", "errorMessages", "totalRecordsCount"}
