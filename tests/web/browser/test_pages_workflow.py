"""An information-management officer's round, end to end in the browser (issue 3, item 7):
log in, upload a file, read its validation report, import it, settle the review item it raised,
publish, open the dashboard, change the round (the map and totals change), download a CSV and check it."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import polars as pl

from tests.web.browser.conftest import (
    MISSPELT,
    OPERATION,
    ROUNDS,
    axe_violations,
    log_in,
    screenshot,
    synthetic_file,
)


def national_total(truth: pl.DataFrame, number: int) -> int:
    return int(truth.filter(pl.col("round_number") == number)["value"].sum())


def headline(page) -> int:
    return int("".join(ch for ch in page.inner_text("#headline-total") if ch.isdigit()))


def map_fills(page) -> list[str]:
    return page.eval_on_selector_all("#map path", "paths => paths.map(p => p.getAttribute('fill'))")


def test_upload_review_publish_dashboard_download(page_factory, live):
    page = page_factory()
    path, truth = synthetic_file(live["files"])
    log_in(page, live)

    # 1. upload -> validation report: the misspelt district is an error that needs a review
    page.set_input_files("#upload-file", str(path))
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("#upload-status")
    assert "validated" in page.inner_text("#upload-status")
    report = page.inner_text("#report-issues")
    assert "place-needs-review" in report and "Bana." in report
    assert page.locator("#report-rounds tbody tr").count() == ROUNDS
    screenshot(page, "imports-report")
    assert axe_violations(page) == []

    # 2. import: rounds 1-2 are clean (validated), the last one is held back (draft)
    page.locator("#confirm-import").click()
    page.wait_for_selector("text=Imported: 3 round(s).")
    upload_page = page.url
    statuses = page.eval_on_selector_all("#report-rounds tbody tr td:nth-child(6)", "cells => cells.map(c => c.innerText)")
    assert statuses == ["validated", "validated", "draft"]

    # 3. the data-quality page says what blocks round 3 and offers the candidate; accept it
    page.goto(f"{live['url']}/quality?operation={quote(OPERATION)}")
    assert "place-needs-review" in page.inner_text("#blocked-title + ul")
    screenshot(page, "quality")
    assert axe_violations(page) == []
    page.get_by_role("button", name=f"Accept Banadir ({MISSPELT})").click()
    page.wait_for_selector("text=1 round(s) re-resolved")
    assert "Nothing blocks publishing." in page.inner_text("main")

    # 4. publish every round from the imports page
    page.goto(upload_page)
    for number in range(1, ROUNDS + 1):
        page.get_by_role("button", name=f"Publish round {number}").click()
        page.wait_for_selector(f"text=Round {number} of {OPERATION} is published.")

    # 5. anonymous visitors now see the dashboard; the round selector changes map and totals
    public = page_factory()
    public.goto(f"{live['url']}/")
    public.get_by_role("link", name=OPERATION).click()
    public.wait_for_selector("#map path")
    assert headline(public) == national_total(truth, ROUNDS)  # the reviewed district is counted again
    latest_fills = map_fills(public)
    screenshot(public, "dashboard")
    public.select_option("#round-select", "1")
    public.wait_for_function("() => document.querySelector('#map').dataset.round === '1'")
    assert headline(public) == national_total(truth, 1)
    assert map_fills(public) != latest_fills
    assert "round=1" in public.url  # the view can be bookmarked and shared
    public.select_option("#level-select", "2")
    public.wait_for_function("() => document.querySelectorAll('#map path').length > 60")

    # 6. download the round-1 admin1 CSV and check its totals against the generated file
    public.goto(f"{live['url']}/downloads?operation={quote(OPERATION)}")
    public.select_option("#download-round", "1")
    public.select_option("#download-level", "1")
    with public.expect_download() as info:
        public.locator("#download-file").click()
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    expected = (truth.filter(pl.col("round_number") == 1).group_by("adm1_pcode").agg(pl.col("value").sum())
                .rows())
    shown = {r["pcode"]: int(r["value"]) for r in rows if r["suppressed"] == "false"}
    assert len(rows) == len(expected)
    assert shown and all(shown[code] == value for code, value in expected if code in shown)
    assert not [v for v in shown.values() if 1 <= v <= 10]
    hidden = [r for r in rows if r["suppressed"] == "true"]
    assert all(r["value"] == "" for r in hidden)
    if not hidden:
        assert sum(shown.values()) == national_total(truth, 1)
