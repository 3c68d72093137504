"""Upload -> validation report -> confirm -> publish through the API; review decisions; publish rights."""

import io

from tests.web.conftest import OPERATION, SOM, bearer, round_rows


def csv_bytes(frame):
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue()


def upload(client, headers, content, name="round3.csv"):
    return client.post("/api/v1/imports", files={"file": (name, io.BytesIO(content), "text/csv")}, headers=headers)


def test_upload_report_confirm_publish(client, store):
    h = bearer(store, "manager")
    content = csv_bytes(round_rows(OPERATION, "SOM", SOM, 3, [1400, 60, 900, 1000]))
    r = upload(client, h, content)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "validated" and data["report"]["rounds"][0]["round_number"] == 3
    # nothing stored yet: the public and the analyst see no round 3
    rounds = client.get(f"/api/v1/operations/{OPERATION}/rounds", headers=bearer(store, "analyst")).json()["data"]
    assert 3 not in [x["round"] for x in rounds]
    assert client.get(f"/api/v1/imports/{data['upload']}", headers=h).json()["data"]["status"] == "validated"
    done = client.post(f"/api/v1/imports/{data['upload']}/confirm", params={"publish": "true"}, headers=h)
    assert done.status_code == 200, done.text
    body = done.json()["data"]
    assert body["status"] == "imported" and body["published"][0]["status"] == "published"
    public = client.get(f"/api/v1/operations/{OPERATION}/figures", params={"level": 0, "round": 3}).json()["data"]
    assert public[0]["value"] == 1400 + 60 + 900 + 1000
    # confirming twice is refused
    again = client.post(f"/api/v1/imports/{data['upload']}/confirm", headers=h)
    assert again.status_code == 409


def test_a_bad_file_gets_a_report_not_an_import(client, store):
    r = upload(client, bearer(store, "data-entry"), b"\x00\x01 not a table", name="junk.csv")
    data = r.json()["data"]
    assert r.status_code == 200 and data["status"] == "rejected" and data["report"]["message"]
    assert client.post(f"/api/v1/imports/{data['upload']}/confirm",
                       headers=bearer(store, "data-entry")).status_code == 409


def test_an_upload_outside_the_scopes_is_refused(client, store):
    content = csv_bytes(round_rows("Somebody else's operation", "SOM", SOM, 1, [10, 20, 30, 40]))
    r = upload(client, bearer(store, "data-entry"), content, name="else.csv")
    assert r.status_code == 403


def test_data_entry_may_not_publish_and_blocking_errors_stop_a_manager(client, store):
    url = f"/api/v1/operations/{OPERATION}/rounds/2/publish"
    assert client.post(url, headers=bearer(store, "data-entry")).status_code == 403
    r = client.post(url, headers=bearer(store, "manager"))
    assert r.status_code == 200 and r.json()["data"]["status"] == "published"
    assert 2 in [x["round"] for x in client.get(f"/api/v1/operations/{OPERATION}/rounds").json()["data"]]


def test_issues_and_quality_summary(client, store):
    content = csv_bytes(round_rows(OPERATION, "SOM", SOM, 4, [100, "many", 300, 400]))
    h = bearer(store, "manager")
    data = upload(client, h, content, name="round4.csv").json()["data"]
    client.post(f"/api/v1/imports/{data['upload']}/confirm", headers=h)
    issues = client.get(f"/api/v1/operations/{OPERATION}/issues", params={"round": 4, "severity": "error"},
                        headers=bearer(store, "analyst")).json()
    assert issues["data"] and issues["data"][0]["source_file"] == "round4.csv" and issues["data"][0]["row"]
    blocked = client.post(f"/api/v1/operations/{OPERATION}/rounds/4/publish", headers=h)
    assert blocked.status_code == 409 and blocked.json()["errors"]
    summary = client.get(f"/api/v1/operations/{OPERATION}/quality", headers=h).json()["data"]
    assert next(s for s in summary if s["round"] == 4)["blocking"] > 0


def test_review_queue_decision(client, store):
    content = csv_bytes(round_rows(OPERATION, "SOM", [("SO11", None, "Boramma")] + SOM[1:], 5, [100, 200, 300, 400]))
    h = bearer(store, "manager")
    data = upload(client, h, content, name="round5.csv").json()["data"]
    client.post(f"/api/v1/imports/{data['upload']}/confirm", headers=h)
    queue = client.get("/api/v1/reviews", headers=bearer(store, "data-entry")).json()["data"]
    if not queue:  # the matcher settled the misspelling on its own: nothing to review
        return
    item = queue[0]
    r = client.post(f"/api/v1/reviews/{item['id']}/decision", json={"pcode": "SO1101"},
                    headers=bearer(store, "data-entry"))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "accepted"
    assert client.post(f"/api/v1/reviews/{item['id']}/decision", json={"pcode": "SO1101"},
                       headers=bearer(store, "data-entry")).status_code == 409
