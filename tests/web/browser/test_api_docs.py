"""The API reference page (/api/v1/docs) runs Swagger UI from this server alone, under the site's CSP."""

from __future__ import annotations

from tests.web.browser.conftest import screenshot


def test_api_docs_render_with_no_outside_request(playwright_browser, live):
    # Not page_factory: its contexts bypass the CSP, and the point here is that Swagger UI works under it.
    context = playwright_browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        requested, problems = [], []
        page.on("request", lambda r: requested.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(live["url"] + "/api/v1/docs")
        page.wait_for_selector(".opblock-summary-path")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        screenshot(page, "api-docs")
        assert any("/api/v1/operations/{operation}/figures" in p for p in paths), paths
        assert any("/v3/displacement/admin2" in p for p in paths), paths
        assert page.locator(".info .title").inner_text().startswith("mobtrack API")
        outside = [u for u in requested if not u.startswith((live["url"] + "/", "data:"))]
        assert outside == [], outside
        assert problems == [], problems  # a CSP violation shows up here
    finally:
        context.close()
