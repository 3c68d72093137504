"""Browser tests: Debian's Chromium driven by Playwright against a live mobtrack server on loopback.

Nothing is downloaded: Playwright is pointed at /usr/bin/chromium, and axe-core comes from
node_modules (installed by `npm ci` in scripts/install). Without Chromium (or Playwright, or axe-core)
the tests are skipped with the reason, except in CI (CI=true), where that is a failure.
Screenshots go to test-artifacts/screenshots/ (git-ignored), one per page.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
OPERATION = "Browser test: Somalia (synthetic)"
PASSWORD = "quartz lantern meadow fiddle 73"
MISSPELT = "SO2201"  # written as "Bana." without its p-code in the last round: goes to the review queue
ROUNDS = 3
SMALL_PLACE = "SO1103"  # Zeylac: 4 to 6 IDPs, a small cell in every round


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (scripts/install --dev installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not AXE.is_file():
        _unavailable(f"{AXE} is missing: run `npm ci` at the repository root (scripts/install does it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def synthetic_file(folder: Path) -> tuple[Path, pl.DataFrame]:
    """A mobtrack CSV of ROUNDS rounds on the Somalia districts, like a field team's export, with one
    district misspelt and without its p-code in the last round. Returns the path and the true figures."""
    from mobtrack.demo import districts
    from mobtrack.synthetic import synthetic_rounds, write_csv

    places = districts()
    records = synthetic_rounds(places.drop("adm2_name"), operation=OPERATION, country_iso3="SOM", rounds=ROUNDS,
                               seed=11, first_date=date(2024, 1, 31))
    # One district with a handful of people, as real data has: the public must never see its counts.
    tiny = (pl.col("adm2_pcode") == SMALL_PLACE) & (pl.col("population_group") == "idps")
    n = pl.col("round_number").cast(pl.Int64)
    records = records.with_columns(
        pl.when(tiny & (pl.col("unit") == "households")).then(pl.lit(1, pl.Int64))
        .when(tiny & (pl.col("role") == "total")).then(n + 3)
        .when(tiny & (pl.col("sex") == "male")).then(pl.lit(2, pl.Int64))
        .when(tiny & (pl.col("sex") == "female")).then(n + 1)
        .when(tiny & (pl.col("age_band") == "18-59")).then(n + 3)
        .when(tiny & pl.col("age_band").is_not_null()).then(pl.lit(0, pl.Int64))
        .otherwise(pl.col("value")).alias("value"))
    truth = records.filter((pl.col("role") == "total") & (pl.col("population_group") == "idps")
                           & (pl.col("unit") == "individuals")).select("round_number", "adm1_pcode", "adm2_pcode",
                                                                       "value")
    target = (pl.col("round_number") == ROUNDS) & (pl.col("adm2_pcode") == MISSPELT)
    records = records.join(places.select("adm2_pcode", "adm2_name"), on="adm2_pcode", how="left", suffix="_real")
    records = records.with_columns(
        pl.when(target).then(pl.lit("Bana.")).otherwise(pl.col("adm2_name_real")).alias("adm2_name"),
        pl.when(target).then(None).otherwise(pl.col("adm2_pcode")).alias("adm2_pcode"),
    ).drop("adm2_name_real")
    path = folder / "som_idp_rounds_1-3.csv"
    write_csv(records, path)
    return path, truth


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(module_db_url, tmp_path_factory):
    """A server on loopback over a store with the Somalia gazetteer and one manager (with TOTP)."""
    import uvicorn

    from mobtrack.demo import demo_files
    from mobtrack.gazetteer import load_bundled, load_paths
    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.web.app import create_app
    from mobtrack.web.services import accounts

    upgrade(module_db_url)
    with get_engine(module_db_url).begin() as conn:
        load_bundled(conn, countries=["SOM"])
        load_paths(conn, demo_files(), country_iso3="SOM", version_name="COD-AB 2023-03-08")
        manager = accounts.add_user(conn, "im-officer", PASSWORD, "manager", "Test org", operations=[OPERATION])
    app = create_app(module_db_url, secure_cookies=False, upload_dir=tmp_path_factory.mktemp("uploads"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 20 s")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "db_url": module_db_url, "user": "im-officer",
           "totp": manager.totp_secret, "files": tmp_path_factory.mktemp("files")}
    server.should_exit = True
    thread.join(timeout=10)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # so fixtures can tell whether the test failed
    return report


@pytest.fixture
def page_factory(request, playwright_browser, live):
    contexts = []

    def make(width: int = 1366, height: int = 768, locale: str = "en-GB"):
        # The CSP forbids inline scripts; bypass_csp lets the test inject axe-core, nothing else changes.
        context = playwright_browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                                 bypass_csp=True, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)  # generous: CI shares two cores with everything else
        return page

    yield make
    failed = getattr(request.node, "rep_call", None)
    for i, context in enumerate(contexts):
        if failed is not None and failed.failed:  # what the browser showed when the test failed
            for j, page in enumerate(context.pages):
                screenshot(page, f"FAILED-{request.node.name}-{i}-{j}")
        context.close()


def axe_violations(page) -> list[dict]:
    """WCAG 2.1 A/AA violations that axe-core finds on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"][:5]]} for v in result["violations"]]


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, live, next_path: str = "/imports") -> None:
    """The login form as a person fills it: username and password, then the authenticator code."""
    from mobtrack.web import security

    page.goto(f"{live['url']}/auth/login?next={next_path}")
    page.fill("#username", live["user"])
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    if page.locator("#code").count():
        page.fill("#password", PASSWORD)
        page.fill("#code", security.totp_code(live["totp"]))
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
    if "/auth/login" in page.url and not page.locator("[role=alert]").count():
        # The login's session row is committed by the request's connection dependency, which FastAPI ends
        # after the redirect is sent: the redirected page can race it (reported to the API engineer).
        page.wait_for_timeout(300)
        page.goto(f"{live['url']}{next_path}")
    assert page.url.split("?")[0].endswith(next_path), page.inner_text("main")
