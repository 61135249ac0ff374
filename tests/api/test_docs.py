"""The interactive API docs at /api/docs: served by the app itself, working under its CSP."""

from __future__ import annotations

import re
import shutil

import pytest

from app import create_app
from tests.conftest import service_missing
from tests.servers import serve_wsgi as live_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def docs_app(make_settings):
    """An application for the docs page; the page itself needs no database rows."""
    return create_app(make_settings(rate_limit_enabled=False))


def asset_urls(html: str) -> list[str]:
    """Every ``src`` and ``href`` of a page."""
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_docs_page_is_html(docs_app):
    response = docs_app.test_client().get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert 'data-spec-url="/api/v1/openapi.json"' in response.get_data(as_text=True)


def test_docs_page_loads_assets_only_from_the_app(docs_app):
    html = docs_app.test_client().get("/api/docs").get_data(as_text=True)
    urls = asset_urls(html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert all(url.startswith("/") and not url.startswith("//") for url in urls)


def test_docs_page_has_no_inline_script(docs_app):
    html = docs_app.test_client().get("/api/docs").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    assert scripts
    assert all("src=" in attributes and not body.strip() for attributes, body in scripts)


def test_every_docs_asset_is_served(docs_app):
    client = docs_app.test_client()
    html = client.get("/api/docs").get_data(as_text=True)
    assets = [url for url in asset_urls(html) if url.startswith("/static/")]
    assert len(assets) >= 4
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content_length, url


@pytest.mark.slow
def test_docs_page_renders_the_api_in_a_browser_without_csp_violations(docs_app):
    chromium = shutil.which("chromium")
    if chromium is None:
        service_missing("Chromium")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    foreign_requests: list[str] = []
    with live_server(docs_app) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "request",
                lambda request: (
                    foreign_requests.append(request.url)
                    if not request.url.startswith((base_url, "data:"))
                    else None
                ),
            )
            page.goto(f"{base_url}/api/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
            title = page.inner_text(".swagger-ui .info .title")
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock").count()
        finally:
            browser.close()
    assert "Inkwell" in title
    assert operations > 0
    assert problems == []
    assert foreign_requests == []
