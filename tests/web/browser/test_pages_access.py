"""Who sees what on the pages, without a browser (fast): every page route for the public and for each role,
on the shared web-test store (tests/web/conftest.py: round 1 published, round 2 not; Baki has 4 people)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.routing import iter_route_contexts

from tests.web.conftest import OPERATION, OTHER, bearer

HTML = {"accept": "text/html"}
OP = quote(OPERATION)
# Every page route and what it needs; a new page route must be added here (test_every_page_is_classified).
PAGES = {
    ("GET", "/"): "public", ("GET", "/dashboard"): "public", ("GET", "/location"): "public",
    ("GET", "/downloads"): "public", ("GET", "/downloads/file"): "public", ("POST", "/language"): "public",
    ("GET", "/flows"): "public", ("GET", "/profile"): "public",
    ("GET", "/quality"): "read-quality", ("POST", "/quality/review/{review_id}"): "review",
    ("GET", "/imports"): "upload", ("POST", "/imports"): "upload", ("POST", "/imports/{token}/confirm"): "upload",
    ("POST", "/imports/publish"): "publish",
}


def baki_hidden(page) -> bool:
    """Baki's figure (4 people) on its location page is shown as suppressed, and 4 appears nowhere as a count."""
    headline = re.search(r'<span class="value">\s*([^<]*)</span>', page.text).group(1).strip()
    return headline == "suppressed" and not re.search(r'class="num">\s*4\s*<', page.text)


def get(client, path, who=None, store=None):
    headers = {**HTML, **(bearer(store, who) if who else {})}
    return client.get(path, headers=headers, follow_redirects=False)


def test_every_page_is_classified(app):
    from mobtrack.web.pages import router

    found = {(m, r.path) for r in iter_route_contexts(router.routes) for m in r.methods if m != "HEAD"}
    assert found == set(PAGES)


def test_public_sees_published_rounds_only_and_no_small_count(client):
    home = client.get("/", headers=HTML)
    assert OPERATION in home.text and OTHER in home.text
    page = client.get(f"/dashboard?operation={OP}&level=2", headers=HTML)
    assert page.status_code == 200
    assert re.findall(r'<option value="(\d+)"[^>]*>Round', page.text) == ["1"]
    top = page.text.split('id="top-title"')[1].split("</section>")[0]
    assert "Baki" not in top  # not among the top places with a figure
    assert client.get(f"/dashboard?operation={OP}&round=2", headers=HTML).status_code == 404
    assert client.get("/dashboard?operation=No%20such%20operation", headers=HTML).status_code == 404
    assert baki_hidden(client.get(f"/location?operation={OP}&pcode=SO1102", headers=HTML))


@pytest.mark.parametrize("path", ["/quality", "/imports"])
def test_signed_in_pages_send_the_public_to_the_login_form(client, path):
    answer = client.get(path, headers=HTML, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("role, quality, imports", [
    ("viewer", 403, 403), ("analyst", 200, 403), ("data-entry", 200, 200), ("manager", 200, 200), ("admin", 200, 200)])
def test_each_role_gets_the_pages_it_may_use(client, store, role, quality, imports):
    assert get(client, "/quality", role, store).status_code == quality
    answer = get(client, "/imports", role, store)
    assert answer.status_code == imports
    dashboard = get(client, f"/dashboard?operation={OP}&round=2", role, store)
    assert dashboard.status_code == 200  # every role of this operation sees the unpublished round
    # the navigation offers exactly the pages the role may use
    assert ('href="/quality"' in dashboard.text) == (quality == 200)
    assert ('href="/imports"' in dashboard.text) == (imports == 200)


def test_another_operations_manager_sees_this_one_as_the_public_does(client, store):
    assert get(client, f"/dashboard?operation={OP}&round=2", "outsider", store).status_code == 404
    assert baki_hidden(get(client, f"/location?operation={OP}&pcode=SO1102", "outsider", store))
    assert not baki_hidden(get(client, f"/location?operation={OP}&pcode=SO1102", "analyst", store))
    assert OPERATION not in get(client, "/quality", "outsider", store).text


def test_language_switch_is_remembered(client):
    answer = client.post("/language", data={"lang": "fr", "next": "/downloads"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/downloads"
    french = client.get("/downloads", headers=HTML)
    assert 'lang="fr"' in french.text and "Téléchargements" in french.text
    assert client.post("/language", data={"lang": "fr", "next": "//evil.example"},
                       follow_redirects=False).headers["location"] == "/"
