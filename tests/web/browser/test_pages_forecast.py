"""The forecast panel in the browser: fan charts (uPlot, with the SVG fallback without JavaScript), the map of
expected change and the warnings, for the public, from published rounds only; WCAG 2.1 AA by axe-core."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import polars as pl
import pytest
from babel.dates import format_date

from tests.web.browser.conftest import axe_violations, screenshot

OPERATION = "Browser test: forecasts (synthetic)"
ROUNDS, PUBLISHED = 8, 6
FIRST = date(2024, 1, 15)


@pytest.fixture(scope="module")
def published(live):
    """Eight monthly rounds on the Somalia districts; the last two are not published."""
    from mobtrack.demo import districts
    from mobtrack.pipeline import import_file
    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import publish
    from mobtrack.synthetic import synthetic_rounds, write_csv

    records = synthetic_rounds(districts().drop("adm2_name"), operation=OPERATION, country_iso3="SOM",
                               rounds=ROUNDS, seed=5, first_date=FIRST, days_between=30)
    path = live["files"] / "forecast_rounds.csv"
    write_csv(records, path)
    result = import_file(path, db_url=live["db_url"])
    assert result.status == "imported", result.message
    with get_engine(live["db_url"]).begin() as conn:
        for number in range(1, PUBLISHED + 1):
            publish(conn, OPERATION, number)
    return records.select("round_number", "reporting_date").unique().sort("round_number")


def test_dashboard_shows_fans_map_and_warnings(page_factory, live, published):
    last_public = published.filter(pl.col("round_number") == PUBLISHED)["reporting_date"][0]
    op = quote(OPERATION)
    page = page_factory()
    page.goto(f"{live['url']}/dashboard?operation={op}&level=1")
    panel = page.locator("section.forecast")
    assert "Forecast for the next 3 months" in panel.inner_text()
    assert "forecasts, not reported figures" in panel.inner_text()
    # made from the published rounds only: it starts from round 6, not from the unpublished 7 and 8
    assert f"Made from rounds 1 to {PUBLISHED}" in panel.inner_text()
    assert format_date(last_public, format="medium", locale="en") in panel.inner_text()
    page.wait_for_function("() => document.querySelectorAll('figure.fan .uplot').length > 0")
    assert page.locator("figure.fan").count() == 12
    assert page.locator("figure.fan svg.fan-svg").count() == 0  # every fan became an interactive chart
    assert page.locator("#forecast-map path").count() == 18  # Somalia's regions
    assert page.locator("#forecast-map path[fill='#bdbdbd']").count() < 18  # most places have a forecast
    assert page.locator("#warnings").count() == 1
    assert page.locator("#warnings-title").inner_text() == "Early warnings"
    screenshot(page, "dashboard-forecast")
    assert axe_violations(page) == []
    # the API says the same, to the anonymous caller
    api = page.request.get(f"{live['url']}/api/v1/operations/{op}/forecasts?level=1").json()
    assert api["rounds"] == list(range(1, PUBLISHED + 1)) and api["protected"] is True
    assert api["cutoff"] == last_public.isoformat()

    # a place's own page has its fan chart and the table of its forecast
    pcode = api["data"][0]["pcode"]
    page.goto(f"{live['url']}/location?operation={op}&pcode={pcode}")
    page.wait_for_function("() => document.querySelectorAll('figure.fan .uplot').length === 1")
    rows = page.locator("section.forecast details table tbody tr")
    assert rows.count() == 1 and pcode in rows.inner_text()
    screenshot(page, "location-forecast")
    assert axe_violations(page) == []


def test_panel_without_javascript_and_in_french(page_factory, live, published):
    op = quote(OPERATION)
    page = page_factory()
    page.route("**/*.js", lambda route: route.abort())  # as on a browser without JavaScript
    page.goto(f"{live['url']}/dashboard?operation={op}&level=2")
    fans = page.locator("figure.fan svg.fan-svg")
    assert fans.count() == 12
    assert page.locator("figure.fan polygon.b95").count() == 12 and page.locator("figure.fan polygon.b80").count() == 12
    assert page.locator("#forecast-map path").count() > 60  # districts
    screenshot(page, "dashboard-forecast-nojs")
    assert axe_violations(page) == []

    french = page_factory(locale="fr-FR")
    french.goto(f"{live['url']}/dashboard?operation={op}&level=1")
    text = french.locator("section.forecast").inner_text()
    assert "Prévision pour les 3 prochains mois" in text and "Alertes précoces" in text
    assert axe_violations(french) == []
