"""/api/v1/docs is served from this server's own files: every script and style on it is a local path."""

from __future__ import annotations

import re


def test_docs_page_loads_only_local_files(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' applies to scripts
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
    assert "<script>" not in page.text  # no inline script: the CSP would block it
    assert scripts and any("swagger-ui-bundle.js" in s for s in scripts), "Swagger UI not installed: npm ci"
    for url in urls:
        if url.startswith("data:"):  # inline, fetched from nowhere
            continue
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
