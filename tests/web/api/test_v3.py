"""The DTM API v3 layer: IOM's parameters, fields and envelope (the real client is in shared_tests/web)."""

from tests.web.conftest import OPERATION, ROUND1, ROUND2, SOM, bearer

V3_FIELDS = ["id", "operation", "admin0Name", "admin0Pcode", "admin1Name", "admin1Pcode", "admin2Name", "admin2Pcode",
             "numPresentIdpInd", "reportingDate", "yearReportingDate", "monthReportingDate", "roundNumber",
             "displacementReason", "numberMales", "numberFemales", "idpOriginAdmin1Name", "idpOriginAdmin1Pcode",
             "assessmentType"]


def get(client, level, headers=None, **params):
    r = client.get(f"/v3/displacement/{level}", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["isSuccess"] is True and body["statusCode"] == 200 and body["errorMessages"] == []
    assert body["totalRecordsCount"] == len(body["result"])
    return body["result"]


def test_admin2_rows_carry_iom_fields_and_breakdowns(client, store):
    rows = get(client, "admin2", bearer(store, "analyst"), Operation=OPERATION)
    assert list(rows[0]) == V3_FIELDS
    r1 = {r["admin2Pcode"]: r for r in rows if r["roundNumber"] == 1}
    assert [r1[p]["numPresentIdpInd"] for _, p, _ in SOM] == ROUND1
    assert r1["SO1101"]["numberMales"] == 600 and r1["SO1101"]["numberFemales"] == 600
    assert r1["SO1101"]["reportingDate"] == "2024-01-28T00:00:00" and r1["SO1101"]["admin0Name"] == "Somalia"
    assert r1["SO1101"]["idpOriginAdmin1Pcode"] == "Not available"


def test_upper_levels_not_in_the_file_are_rolled_up(client, store):
    rows = get(client, "admin1", bearer(store, "analyst"), Admin0Pcode="SOM", FromRoundNumber=2, ToRoundNumber=2)
    got = {r["admin1Pcode"]: r["numPresentIdpInd"] for r in rows}
    assert got == {"SO11": ROUND2[0] + ROUND2[1], "SO12": ROUND2[2] + ROUND2[3]}
    zero = get(client, "admin0", bearer(store, "analyst"), CountryName="Somalia", ToRoundNumber=1)
    assert [r["numPresentIdpInd"] for r in zero] == [sum(ROUND1)] and "id" not in zero[0]


def test_filters(client, store):
    h = bearer(store, "analyst")
    assert {r["admin2Pcode"] for r in get(client, "admin2", h, Operation=OPERATION, Admin1Pcode="SO12")} == \
        {"SO1201", "SO1202"}
    assert get(client, "admin2", h, Operation=OPERATION, FromReportingDate="2024-02-01") and \
        {r["roundNumber"] for r in get(client, "admin2", h, Operation=OPERATION, FromReportingDate="2024-02-01")} == {2}
    assert get(client, "admin2", h, Operation="No such operation") == []
    bad = client.get("/v3/displacement/admin2", params={"Operation": OPERATION, "FromReportingDate": "28/01/2024"})
    assert bad.status_code == 400 and bad.json()["isSuccess"] is False


def test_anonymous_gets_published_rounds_protected(client):
    rows = get(client, "admin2", Operation=OPERATION)
    assert {r["roundNumber"] for r in rows} == {1}
    baki = next(r for r in rows if r["admin2Pcode"] == "SO1102")
    assert baki["numPresentIdpInd"] is None and baki["numberMales"] is None


def test_lists(client, store):
    countries = client.get("/v3/displacement/country-list").json()["result"]
    assert {"admin0Name": "Somalia", "admin0Pcode": "SOM"} in countries
    ops = client.get("/v3/displacement/operation-list").json()["result"]
    assert {"operation": OPERATION, "operationStatus": "Active", "admin0Name": "Somalia", "admin0Pcode": "SOM"} in ops


def test_public_admin1_and_admin2_cannot_be_combined_to_undo_a_suppression(client):
    admin1 = get(client, "admin1", Operation=OPERATION)
    admin2 = get(client, "admin2", Operation=OPERATION)
    for parent in admin1:
        children = [r for r in admin2 if r["admin1Pcode"] == parent["admin1Pcode"]
                    and r["roundNumber"] == parent["roundNumber"]]
        hidden = [r for r in children if r["numPresentIdpInd"] is None]
        if parent["numPresentIdpInd"] is not None:
            assert len(hidden) != 1, (parent, children)  # one hidden child = parent minus the others
            if not hidden:
                assert parent["numPresentIdpInd"] == sum(r["numPresentIdpInd"] for r in children)
