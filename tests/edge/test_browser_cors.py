"""A real browser enforces CORS: a page on another origin calls the API with fetch()."""

from __future__ import annotations

import json

import pytest

from app import create_app
from tests.servers import chromium, serve_wsgi, static_pages

pytestmark = pytest.mark.slow

# The custom X-Request-ID header makes the call non-simple, so the browser sends a preflight.
CALLER = """<!doctype html>
<html><body><pre id="result">pending</pre>
<script>
const api = new URLSearchParams(location.search).get("api");
const show = (value) => { document.getElementById("result").textContent = value; };
fetch(api, {headers: {"X-Request-ID": "from-the-browser"}})
  .then(async (response) => show(JSON.stringify({
    status: response.status,
    requestId: response.headers.get("X-Request-ID"),
    limit: response.headers.get("X-RateLimit-Limit"),
    body: await response.json(),
  })))
  .catch((error) => show("blocked: " + error.name));
</script></body></html>
"""


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    with chromium() as instance:
        yield instance


@pytest.fixture
def sites():
    """Two static sites on separate loopback origins, each serving the calling page."""
    with (
        serve_wsgi(static_pages({"/": CALLER})) as allowed,
        serve_wsgi(static_pages({"/": CALLER})) as other,
    ):
        yield allowed, other


@pytest.fixture
def api_url(make_settings, sites):
    """The API root of an app that allows only the first site's origin."""
    allowed, _ = sites
    application = create_app(make_settings(cors_origins=allowed))
    with serve_wsgi(application) as base_url:
        yield f"{base_url}/api/v1/"


def call_from(browser, site: str, api_url: str) -> str:
    """Open the calling page on ``site`` and return what its fetch() reported."""
    page = browser.new_page()
    try:
        page.goto(f"{site}/?api={api_url}")
        page.wait_for_function("document.getElementById('result').textContent !== 'pending'")
        return page.text_content("#result")
    finally:
        page.close()


def test_allowed_origin_reads_the_api_response(browser, sites, api_url):
    result = json.loads(call_from(browser, sites[0], api_url))
    assert result["status"] == 200
    assert result["body"]["success"] is True


def test_allowed_origin_reads_the_exposed_headers(browser, sites, api_url):
    result = json.loads(call_from(browser, sites[0], api_url))
    assert result["requestId"] == "from-the-browser"
    assert int(result["limit"]) > 0


def test_browser_blocks_the_call_from_another_origin(browser, sites, api_url):
    assert call_from(browser, sites[1], api_url) == "blocked: TypeError"
