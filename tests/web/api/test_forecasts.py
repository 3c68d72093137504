"""Forecasts and early warnings: made only from what the caller may see, cached by data version."""

from datetime import date

import pytest

from mobtrack.pipeline import import_file
from mobtrack.store.db import get_engine
from mobtrack.store.publishing import publish
from tests.web.conftest import OPERATION, OTHER, SOM, bearer, round_rows, write_round

URL = f"/api/v1/operations/{OPERATION}"
# Rounds 3-8 on top of conftest's rounds 1 (published) and 2. Baki's round 6 is a small cell, so the
# public cannot see Baki's latest figure (nor Borama's, hidden with it so Awdal cannot give it away).
# Rounds 7 and 8 are not published and triple every figure: a public forecast must not know it.
MORE = {3: [1350, 38, 870, 1000], 4: [1420, 35, 900, 1100], 5: [1400, 33, 950, 1050], 6: [1500, 6, 980, 1150],
        7: [4500, 90, 2900, 3400], 8: [4800, 95, 3000, 3500]}
PUBLISHED = 6


@pytest.fixture(scope="module")
def rounds(store):
    for number, values in MORE.items():
        path = write_round(store["folder"], f"r{number}.csv", round_rows(OPERATION, "SOM", SOM, number, values))
        assert import_file(path, db_url=store["db_url"]).status == "imported"
    with get_engine(store["db_url"]).begin() as conn:
        for number in range(2, PUBLISHED + 1):
            publish(conn, OPERATION, number)
    return store


def forecast(client, **params):
    headers = params.pop("headers", {})
    response = client.get(f"{URL}/forecasts", params={"level": 2, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_public_forecasts_come_from_published_protected_figures_only(client, rounds):
    body = forecast(client)
    assert body["protected"] is True
    assert body["rounds"] == list(range(1, PUBLISHED + 1))
    assert body["cutoff"] == date(2024, PUBLISHED, 28).isoformat()
    got = {p["pcode"]: p for p in body["data"]}
    assert set(got) == {"SO1201", "SO1202"}
    skipped = {s["pcode"]: s["reason"] for s in body["skipped"]}
    assert skipped == {"SO1101": "latest figure suppressed", "SO1102": "latest figure suppressed"}
    hargeysa = got["SO1201"]
    assert hargeysa["latest"] == 980  # round 6, not the unpublished 3,000 of round 8
    # each history is exactly what the public figures endpoint shows for the place (suppressed ones left out)
    shown = client.get(f"{URL}/figures", params={"level": 2}).json()["data"]
    for place in body["data"]:
        public = [(r["reporting_date"], r["value"]) for r in sorted(shown, key=lambda r: r["round"])
                  if r["pcode"] == place["pcode"] and r["value"] is not None]
        assert [(h["date"], h["value"]) for h in place["history"]] == public
        assert all(h["value"] > 10 for h in place["history"])
        assert len(place["forecasts"]) == 3 and place["model"]
        for f in place["forecasts"]:
            assert f["point"] >= 0
            assert f["lo95"] <= f["lo80"] <= f["point"]
            assert f["hi80"] is None or f["point"] <= f["hi80"]
            assert f["hi80"] is None or f["hi95"] is None or f["hi80"] <= f["hi95"]
            # A forecast of the public figures starts near them, not near the hidden tripled ones.
            assert f["point"] < 2 * place["latest"]
        assert place["skill"]["scored"] > 0 and place["skill"]["mae_naive"] is not None


def test_regions_are_forecast_where_their_latest_figure_is_shown(client, rounds):
    body = forecast(client, level=1)
    assert {p["pcode"] for p in body["data"]} == {"SO11", "SO12"}
    awdal = next(p for p in body["data"] if p["pcode"] == "SO11")
    assert awdal["latest"] == 1506


def test_those_allowed_see_unpublished_rounds_and_raw_counts(client, rounds):
    viewer = forecast(client, headers=bearer(rounds, "viewer"))
    assert viewer["protected"] is True and viewer["rounds"] == list(range(1, 9))
    assert {p["pcode"]: p["latest"] for p in viewer["data"]}["SO1201"] == 3000
    analyst = forecast(client, headers=bearer(rounds, "analyst"))
    assert analyst["protected"] is False
    baki = next(p for p in analyst["data"] if p["pcode"] == "SO1102")
    assert baki["latest"] == 95 and [h["value"] for h in baki["history"]][:2] == [4, 40]


def test_public_may_not_ask_for_raw_forecasts_nor_unknown_operations(client, rounds):
    assert client.get(f"{URL}/forecasts", params={"protected": "false"}).status_code == 403
    assert client.get("/api/v1/operations/No%20such/forecasts").status_code == 404
    assert client.get(f"{URL}/forecasts", params={"freq": "Q"}).status_code == 400
    assert client.get(f"{URL}/warnings", params={"horizon": 2, "k": 3}).status_code == 400


def test_too_few_rounds_is_said_not_failed(client, rounds):
    body = client.get(f"/api/v1/operations/{OTHER}/forecasts").json()
    assert body["data"] == [] and body["count"] == 0 and body["note"]


def test_warnings_give_probabilities_with_their_backtest_brier_score(client, rounds):
    body = client.get(f"{URL}/warnings", params={"level": 2, "horizon": 3, "k": 2}).json()
    assert body["k"] == 2 and body["protected"] is True
    assert {w["pcode"] for w in body["data"]} == {"SO1201", "SO1202"}
    probabilities = [w["probability"] for w in body["data"]]
    assert probabilities == sorted(probabilities, reverse=True)
    for w in body["data"]:
        assert 0 <= w["probability"] <= 1
        assert w["threshold"] == pytest.approx(w["latest"] * 1.25)
    assert body["brier_scored"] > 0 and 0 <= body["brier"] <= 1 and 0 <= body["brier_reference"] <= 1
    # a threshold below every figure is certain to be exceeded, one far above never is
    low = client.get(f"{URL}/warnings", params={"level": 2, "threshold": 1}).json()["data"]
    assert all(w["probability"] == 1 for w in low)
    high = client.get(f"{URL}/warnings", params={"level": 2, "threshold": 1e9, "min_probability": 0.01}).json()
    assert high["data"] == [] and high["count"] == 0


def test_openapi_declares_the_responses(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path, model in [("forecasts", "ForecastsResponse"), ("warnings", "WarningsResponse")]:
        answers = spec["paths"][f"/api/v1/operations/{{operation}}/{path}"]["get"]["responses"]
        assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert {"400", "403", "404"} <= set(answers)
    assert "hi95" in spec["components"]["schemas"]["Period"]["properties"]


def test_a_newly_published_round_is_forecast_at_once(client, rounds):
    before = forecast(client)
    assert client.get(f"{URL}/forecasts", params={"level": 2},
                      headers={"If-None-Match": client.get(f"{URL}/forecasts", params={"level": 2}).headers["etag"]}
                      ).status_code == 304
    with get_engine(rounds["db_url"]).begin() as conn:
        publish(conn, OPERATION, PUBLISHED + 1)
    after = forecast(client)
    assert before["cutoff"] != after["cutoff"] == date(2024, PUBLISHED + 1, 28).isoformat()
    assert after["rounds"] == list(range(1, PUBLISHED + 2))


def test_dashboard_pages_show_the_forecast_or_say_why_not(client, rounds, monkeypatch):
    from mobtrack.web.services import forecasts as service

    page = client.get("/dashboard", params={"operation": OPERATION, "level": 2}, headers={"accept": "text/html"})
    panel = page.text.split('id="forecast-title"')[1]
    assert page.status_code == 200 and 'class="fan"' in panel and "SO1201" in panel and 'id="warnings"' in panel

    def broken(*args, **kwargs):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(service, "forecasts", broken)
    page = client.get("/dashboard", params={"operation": OPERATION, "level": 2}, headers={"accept": "text/html"})
    assert page.status_code == 200  # the reported figures are still shown
    assert "The forecast could not be made" in page.text and 'id="headline-total"' in page.text


def test_at_most_max_series_places_are_forecast_the_largest_first(client, rounds, monkeypatch):
    from mobtrack.web.services import forecasts as service

    everyone = forecast(client, horizon=4)["data"]
    assert len(everyone) >= 2 and everyone[0]["latest"] >= everyone[1]["latest"]
    monkeypatch.setattr(service, "MAX_SERIES", 1)
    body = forecast(client, horizon=2)  # a parameter no other test uses: not answered from the cache
    assert [p["pcode"] for p in body["data"]] == [everyone[0]["pcode"]]
    capped = {s["pcode"] for s in body["skipped"] if s["reason"] == "beyond the 1 largest places"}
    assert capped == {p["pcode"] for p in everyone[1:]}
