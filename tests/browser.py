"""Browser-test helpers: Inkwell served on loopback, and what a person does in its pages.

The server and Chromium come from :mod:`tests.servers` (a WSGI thread on a free loopback
port; Debian's headless Chromium through Playwright). The functions here act the way a
reader or author does: follow links, fill in labelled fields, press buttons.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from tests.conftest import DEFAULT_PASSWORD
from tests.servers import chromium, serve_wsgi

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
DESKTOP = {"width": 1200, "height": 900}
PHONE = {"width": 375, "height": 740}


@dataclass
class Site:
    """A running Inkwell and a Chromium to browse it with."""

    url: str
    browser: Any
    #: Script errors and refusals (a Content-Security-Policy violation is one) in any page.
    console_errors: list[str] = field(default_factory=list)
    #: Stylesheets, images and other assets that failed to load.
    broken_assets: list[str] = field(default_factory=list)

    def new_page(self, viewport: dict[str, int] | None = None, **options: Any) -> Any:
        """A page in a fresh browser context (its own cookies), recording what goes wrong."""
        context = self.browser.new_context(viewport=viewport or DESKTOP, **options)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("response", self._response)
        return page

    def _console(self, message: Any) -> None:
        # Failed loads are judged by _response: an error page's own 404 is expected.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not response.request.is_navigation_request():
            self.broken_assets.append(f"{response.status} {response.url}")

    @property
    def problems(self) -> list[str]:
        """Everything that went wrong in the browser so far."""
        return self.console_errors + self.broken_assets

    def open(self, page: Any, path: str) -> Any:
        """Go to ``path`` on the site; the response of the navigation."""
        return page.goto(self.url + path)


@contextmanager
def browse(app: Flask) -> Iterator[Site]:
    """Serve ``app`` on a free loopback port and launch Chromium; stop both afterwards."""
    with serve_wsgi(app) as url, chromium() as browser:
        yield Site(url=url, browser=browser)


def register(page: Any, username: str, password: str = DEFAULT_PASSWORD) -> None:
    """Create an account through the header's Register link."""
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Create account").click()


def log_in(page: Any, username: str, password: str = DEFAULT_PASSWORD) -> None:
    """Sign in through the header's Sign in link."""
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Any) -> None:
    """Press the header's Sign out button."""
    page.get_by_role("button", name="Sign out").click()


def write_post(page: Any, title: str, body: str, status: str = "Published") -> None:
    """Write a post through the header's New post link."""
    page.get_by_role("link", name="New post").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body").fill(body)
    page.get_by_label(status).check()
    page.get_by_role("button", name="Create post").click()


def post_links(page: Any) -> list[tuple[int, str]]:
    """(id, title) of each post listed on the current page, in order."""
    links = page.locator(".post-card h2 a")
    found = []
    for index in range(links.count()):
        link = links.nth(index)
        post_id = int(re.fullmatch(r"/posts/(\d+)", link.get_attribute("href")).group(1))
        found.append((post_id, link.inner_text()))
    return found


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
