"""Every page, as the public and as a signed-in officer: WCAG 2.1 AA checked by axe-core (zero violations),
a screenshot of each, French, a phone-sized screen, keyboard use, and Arabic names right to left."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import update

from mobtrack.web.services.protection import threshold
from tests.web.browser.conftest import (
    OPERATION,
    ROUNDS,
    SMALL_PLACE,
    axe_violations,
    log_in,
    screenshot,
    synthetic_file,
)

ARABIC = "بنادر"


@pytest.fixture(scope="module")
def published(live):
    """The synthetic rounds imported and published through the library, Banadir with its Arabic name."""
    from mobtrack.pipeline import import_file
    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import publish
    from mobtrack.store.schema import location

    path, truth = synthetic_file(live["files"])
    engine = get_engine(live["db_url"])
    with engine.begin() as conn:
        conn.execute(update(location).where(location.c.pcode == "SO2201")
                     .values(names={"en": "Banadir", "ar": ARABIC}))
    result = import_file(path, db_url=live["db_url"])
    assert result.status == "imported", result.message
    with engine.begin() as conn:
        for number in range(1, ROUNDS):  # the last round waits for its review item: not public
            publish(conn, OPERATION, number)
    return truth


def small_numbers(page) -> list[int]:
    """Counts and changes shown on the page (tables, map, headline) that are small cells."""
    texts = page.eval_on_selector_all(
        "td.num, .figure .value, #map path", "els => els.map(e => e.dataset.value || e.innerText)")
    numbers = [int(t.replace(",", "").replace("+", "")) for t in texts
               if t.replace(",", "").replace("+", "").lstrip("-").isdigit()]
    return [v for v in numbers if 1 <= abs(v) <= threshold()]


def check(page, name: str) -> None:
    shot = screenshot(page, name)
    assert shot.stat().st_size > 10_000
    assert axe_violations(page) == [], name


def test_public_pages_in_english_and_french(page_factory, live, published):
    op = quote(OPERATION)
    page = page_factory()
    page.goto(f"{live['url']}/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.keyboard.press("Tab")  # the first stop is the skip link, for keyboard users
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    check(page, "home")
    # the unpublished last round is not offered to the public
    page.goto(f"{live['url']}/dashboard?operation={op}")
    rounds = page.eval_on_selector_all("#round-select option", "o => o.map(x => x.value)")
    assert rounds == [str(n) for n in range(ROUNDS - 1, 0, -1)]
    page.wait_for_function("() => !document.querySelector('figure.chart svg.line')")  # uPlot took over
    check(page, "dashboard-admin1")
    page.focus("#level-select")  # keyboard only: the map switches level in place
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => document.querySelectorAll('#map path').length > 60")
    assert page.evaluate("() => document.activeElement.id") == "level-select"
    assert "level=2" in page.url and "level=2" in page.input_value("header input[name=next]")
    assert page.get_attribute(f"#map path[data-pcode={SMALL_PLACE}]", "data-value") == "suppressed"
    assert small_numbers(page) == []
    check(page, "dashboard-admin2")
    page.goto(f"{live['url']}/location?operation={op}&pcode=SO22")
    check(page, "location-admin1")
    page.goto(f"{live['url']}/location?operation={op}&pcode=SO2201")
    arabic = page.locator(f"bdi:text-is('{ARABIC}')")
    assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
    check(page, "location-admin2")
    page.goto(f"{live['url']}/downloads")
    check(page, "downloads")

    french = page_factory(locale="fr-FR")
    french.goto(f"{live['url']}/dashboard?operation={op}")
    assert french.locator("html").get_attribute("lang") == "fr"
    assert "Personnes déplacées" in french.inner_text("main")
    assert "\u202f" in french.inner_text("#headline-total")  # French groups digits with a narrow space
    check(french, "dashboard-fr")

    phone = page_factory(width=390, height=844)
    phone.goto(f"{live['url']}/dashboard?operation={op}")
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    check(phone, "dashboard-phone")


def test_signed_in_pages(page_factory, live, published):
    page = page_factory()
    page.goto(f"{live['url']}/auth/login")
    check(page, "login")  # the API engineer's form, in these pages' layout
    page.goto(f"{live['url']}/dashboard?operation=No%20such%20operation")
    check(page, "not-found")
    log_in(page, live, next_path="/quality")
    check(page, "quality-signed-in")
    page.goto(f"{live['url']}/imports")
    check(page, "imports")
    # signed-in officers see the unpublished round, marked as such
    page.goto(f"{live['url']}/dashboard?operation={quote(OPERATION)}")
    assert page.locator("#round-select option").count() == ROUNDS
    assert "draft" in page.inner_text(".notice")
    check(page, "dashboard-signed-in")
    # settle the review item by typing a p-code: a wrong one is refused with the reason, the right one works
    page.goto(f"{live['url']}/quality?operation={quote(OPERATION)}")
    page.locator("input[id^=pcode-]").fill("SO9999")
    page.get_by_role("button", name="Choose").click()
    page.wait_for_selector("text=SO9999 is not an admin2 p-code of SOM")
    page.locator("input[id^=pcode-]").fill("SO2201")
    page.get_by_role("button", name="Choose").click()
    page.wait_for_selector("text=1 round(s) re-resolved")
    assert "Nothing blocks publishing." in page.inner_text("main")
    assert "No place is waiting for review." in page.inner_text("main")
