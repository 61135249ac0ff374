"""Every page passes axe-core's WCAG 2.1 AA checks in Chromium: anonymous, signed in, admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import browse, log_in
from tests.conftest import service_missing

pytestmark = [pytest.mark.slow, pytest.mark.app_settings(rate_limit_requests=10_000)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
POSTS = 25  # more than one page of the home page's 10, so page links show


@pytest.fixture
def content(make_user, make_admin, make_post, make_comment):
    """An author with many posts and a draft, a comment, a deleted post, and an admin."""
    author = make_user("writer")
    posts = [make_post(author, title=f"Post {number}") for number in range(POSTS)]
    make_post(author, title="A draft", status="draft")
    make_comment(posts[-1], make_user("reader"), body="Nice *post*.")
    make_admin("chief")
    return {"author": author, "post": posts[-1]}


def violations(page) -> list[str]:
    """axe-core's WCAG 2.1 AA violations on the current page, one line each."""
    if not AXE.exists():
        service_missing("axe-core (npm install, as make test does)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async tags => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_21_AA,
    )
    return [
        f"{item['id']} ({item['impact']}): {node['target']} {node['failureSummary']}"
        for item in result["violations"]
        for node in item["nodes"]
    ]


def check_pages(site, page, paths: list[str]) -> dict[str, list[str]]:
    """Open each path and collect its violations."""
    found = {}
    for path in paths:
        site.open(page, path)
        problems = violations(page)
        if problems:
            found[path] = problems
    return found


def test_anonymous_pages_pass_wcag_21_aa(app, content):
    post = content["post"]
    with browse(app) as site:
        page = site.new_page(bypass_csp=True)  # axe is injected as a script of the test's
        paths = ["/", "/?page=2", "/?page=3", f"/posts/{post.id}", "/u/writer", "/u/writer?page=2"]
        paths += ["/login", "/register", "/no-such-page"]
        assert check_pages(site, page, paths) == {}


def test_signed_in_pages_pass_wcag_21_aa(app, content):
    post = content["post"]
    with browse(app) as site:
        page = site.new_page(bypass_csp=True)
        site.open(page, "/")
        log_in(page, "writer")
        paths = ["/", "/posts/new", f"/posts/{post.id}", f"/posts/{post.id}/edit"]
        paths += [f"/posts/{post.id}/delete", "/u/writer", "/account/password"]
        assert check_pages(site, page, paths) == {}


def test_admin_pages_pass_wcag_21_aa(app, content):
    with browse(app) as site:
        page = site.new_page(bypass_csp=True)
        site.open(page, "/")
        log_in(page, "chief")
        paths = ["/admin/audit", "/admin/audit?page=2", "/admin/deleted", "/admin/ops", "/"]
        paths += ["/admin/users", "/admin/users?status=inactive", "/admin/users?status=deleted"]
        assert check_pages(site, page, paths) == {}
