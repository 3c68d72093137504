"""The flows page in Chromium, as the public: flow map, Sankey and tables drawn, no hidden corridor drawn,
highlighting across the views, WCAG 2.1 AA (axe-core), a screenshot, under 1 MB, and a phone-sized screen."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.web.browser.conftest import axe_violations, screenshot

# Made-up tallies at flow-monitoring points; TCD -> NGA (3 people) is a small cell.
COUNTS = """t,fmp,fmp_country,from,to,n
2024-01-02,Kano,NGA,NER,NGA,520
2024-01-20,Kano,NGA,NGA,NER,210
2024-01-09,Kano,NGA,TCD,NGA,3
2024-01-11,Kano,NGA,CMR,NGA,140
2024-01-05,Rosso,SEN,SEN,MRT,300
2024-01-05,Rosso,SEN,MLI,MRT,95
"""
# IDPs in Somalia by region of origin (the live store has the Somalia boundaries: arcs between regions).
DTM_V3 = {"result": [
    {"operation": "Somalia origins (synthetic)", "admin0Pcode": "SOM", "assessmentType": "BA", "roundNumber": 1,
     "reportingDate": "2024-01-15", "admin1Pcode": a1, "admin1Name": a1, "admin2Pcode": a2, "admin2Name": a2,
     "displacementReason": "Conflict", "idpOriginAdmin1Pcode": origin, "idpOriginAdmin1Name": origin,
     "numPresentIdpInd": value}
    for a1, a2, origin, value in (("SO22", "SO2201", "SO24", 900), ("SO22", "SO2201", "SO25", 400),
                                  ("SO11", "SO1101", "SO12", 250), ("SO11", "SO1101", "SO13", 2))
]}


@pytest.fixture(scope="module")
def flows_published(live):
    from sqlalchemy import select

    from mobtrack.pipeline import import_file
    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import publish
    from mobtrack.store.schema import operation, round_

    fm = live["files"] / "fm.csv.gz"
    with gzip.open(fm, "wt") as fh:
        fh.write(COUNTS)
    v3 = live["files"] / "origins.json"
    v3.write_text(json.dumps(DTM_V3))
    for path in (fm, v3):
        result = import_file(path, db_url=live["db_url"])
        assert result.status == "imported", result.message
    engine = get_engine(live["db_url"])
    with engine.begin() as conn:
        rounds = conn.execute(select(operation.c.name, round_.c.number)
                              .join(round_, round_.c.operation_id == operation.c.id)
                              .where(round_.c.status != "published")).all()
        for name, number in rounds:
            if "flow monitoring" in name or "origins" in name:
                publish(conn, name, number)


def test_flows_page_for_the_public(page_factory, live, flows_published):
    page = page_factory()
    sizes = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.ok else None)
    page.goto(f"{live['url']}/")
    page.click("header nav a:text-is('Flows')")
    page.wait_for_selector("svg.flowmap .land path")  # the countries around the corridors are drawn
    arcs = page.eval_on_selector_all("svg.flowmap .arcs path", "ps => ps.map(p => [p.dataset.key, p.dataset.value])")
    # The small corridor is hidden, and with it the next smallest into Nigeria (140), or Nigeria's published
    # total would give the 3 away: neither has an arc or a band; the table says they are hidden.
    assert dict(arcs) == {"NER>NGA": "520", "SEN>MRT": "300", "NGA>NER": "210", "MLI>MRT": "95"}
    for hidden in ("TCD>NGA", "CMR>NGA"):
        assert page.locator(f'svg [data-key="{hidden}"]').count() == 0
        assert page.locator(f'#corridors tr[data-key="{hidden}"] td.num').first.inner_text() == "suppressed"
    bands = page.eval_on_selector_all("svg.sankey .bands path", "ps => ps.map(p => p.dataset.key)")
    assert sorted(bands) == sorted(k for k, _ in arcs)
    # enhanced: pointing at a table row highlights its arc and its band
    page.hover('#corridors tr[data-key="NER>NGA"]')
    assert page.locator('svg [data-key="NER>NGA"].hi').count() == 2
    assert axe_violations(page) == []
    assert screenshot(page, "flows-fm").stat().st_size > 10_000
    assert sum(sizes) < 1_000_000, sizes  # the whole page with its style sheets and scripts

    page.goto(f"{live['url']}/flows?source=dtm&level=1")
    page.wait_for_selector("svg.flowmap .land path")  # the regions are drawn under the arcs
    keys = page.eval_on_selector_all("svg.flowmap .arcs path", "ps => ps.map(p => p.dataset.key)")
    # SO13 -> SO11 (2 people) is hidden, and so is SO12 -> SO11, the only other origin in that district
    assert sorted(keys) == ["SO24>SO22", "SO25>SO22"]
    assert axe_violations(page) == []
    screenshot(page, "flows-dtm-admin1")

    # the country profile, reached from the flows page's country filter, links back to the flows
    page.goto(f"{live['url']}/flows?source=dtm&level=1&country=SOM")
    with page.expect_navigation():
        page.click("a:text-is('Country profile of SOM')")
    assert page.locator('tr[data-figure="idps_dtm"] td.num').inner_text() == "1,552"  # 900 + 400 + 250 + 2
    assert page.locator('a[href="/flows?source=dtm&level=1&country=SOM"]').count() == 1
    assert axe_violations(page) == []
    screenshot(page, "profile-som")

    french = page_factory(locale="fr-FR")
    french.goto(f"{live['url']}/flows")
    assert "Flux entre les lieux" in french.inner_text("main")
    assert axe_violations(french) == []

    phone = page_factory(width=390, height=844)
    phone.goto(f"{live['url']}/flows")
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "flows-phone")


def test_flows_page_works_without_javascript(playwright_browser, live, flows_published):
    context = playwright_browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live['url']}/flows?source=fm&top=2")
        assert page.locator("svg.flowmap .arcs path").count() == 2
        assert page.locator("#corridors tbody tr").count() == 2
        page.select_option("#f-source", "dtm")
        page.select_option("#f-level", "1")
        with page.expect_navigation():
            page.click("#flows-form button[type=submit]")
        assert "source=dtm" in page.url and page.locator("svg.sankey .bands path").count() == 2
    finally:
        context.close()
