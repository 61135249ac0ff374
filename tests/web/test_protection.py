"""Protection and shared layout of the pages: CSRF, error pages, headers, accessibility."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint
from werkzeug.exceptions import TooManyRequests

from app import create_app
from app.extensions import csrf
from app.web import CSRF_FAILED
from config import BASE_DIR
from tests.web_helpers import BROWSER, csrf_token, form_fields, page_text, sign_in

POST_ROUTES = [
    "/login",
    "/register",
    "/logout",
    "/posts/new",
    "/posts/{post}/edit",
    "/posts/{post}/delete",
    "/posts/{post}/comments",
    "/admin/posts/{post}/restore",
    "/admin/comments/{comment}/restore",
]


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only: nothing here depends on the database backend."""
    return f"sqlite:///{tmp_path / 'inkwell-test.db'}"


@pytest.fixture
def admin_client(client, make_admin):
    """A client signed in as an admin."""
    sign_in(client, make_admin())
    return client


@pytest.fixture
def records(make_post, make_comment):
    """A post with a comment, for routes that name them."""
    comment = make_comment()
    return {"post": comment.post_id, "comment": comment.id}


@pytest.mark.parametrize("route", POST_ROUTES)
def test_forms_without_a_csrf_token_are_refused_with_a_friendly_page(admin_client, records, route):
    response = admin_client.post(route.format(**records), data={}, headers=BROWSER)
    assert response.status_code == 400
    html = page_text(response)
    assert "This form has expired or was not sent from this site." in html
    assert response.headers["X-Request-ID"] in html


@pytest.mark.parametrize("route", POST_ROUTES)
def test_forms_with_a_forged_csrf_token_are_refused(admin_client, records, route):
    response = admin_client.post(
        route.format(**records), data={"csrf_token": "forged"}, headers=BROWSER
    )
    assert response.status_code == 400


def test_a_refused_form_changes_nothing(admin_client, records):
    admin_client.post(f"/posts/{records['post']}/delete", headers=BROWSER)
    assert admin_client.get(f"/posts/{records['post']}").status_code == 200


def test_a_csrf_token_from_another_session_is_refused(app, make_user):
    user = make_user()
    stranger, victim = app.test_client(), app.test_client()
    token = csrf_token(stranger, "/login")
    sign_in(victim, user)
    response = victim.post(
        "/posts/new",
        data={"csrf_token": token, "title": "t", "body": "b", "status": "draft"},
        headers=BROWSER,
    )
    assert response.status_code == 400


def test_csrf_message_is_friendly_wording():
    assert "CSRF" not in CSRF_FAILED


@pytest.fixture
def failing_app(app):
    """The app plus a page that fails unexpectedly."""
    testing = Blueprint("failing", __name__)

    @testing.get("/_test/page-boom")
    def boom():
        raise RuntimeError("secret internals")

    @testing.get("/_test/page-throttled")
    def throttled():
        raise TooManyRequests(retry_after=30)

    csrf.exempt(testing)
    app.register_blueprint(testing)
    return app


def assert_error_page(response, status: int) -> str:
    """The response is the site's error page for ``status``, in the shared layout."""
    html = page_text(response)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert '<header class="site-header">' in html
    assert '<footer class="site-footer">' in html
    assert f"<h1>{status}</h1>" in html
    assert f"<code>{response.headers['X-Request-ID']}</code>" in html
    return html


def test_403_page_shares_the_layout(client, make_user):
    sign_in(client, make_user())
    html = assert_error_page(client.get("/admin/audit", headers=BROWSER), 403)
    assert "This page is for administrators" in html


def test_404_page_shares_the_layout(client):
    assert_error_page(client.get("/no/such/page", headers=BROWSER), 404)


def test_500_page_shares_the_layout_and_hides_internals(failing_app):
    response = failing_app.test_client().get("/_test/page-boom", headers=BROWSER)
    html = assert_error_page(response, 500)
    assert "secret internals" not in html
    assert "Traceback" not in html


def test_429_page_shares_the_layout_and_says_when_to_retry(failing_app):
    response = failing_app.test_client().get("/_test/page-throttled", headers=BROWSER)
    html = assert_error_page(response, 429)
    assert "Too many requests" in html
    assert int(response.headers["Retry-After"]) >= 1


def test_error_pages_show_who_is_signed_in(client, make_user):
    sign_in(client, make_user("alice"))
    html = page_text(client.get("/posts/999", headers=BROWSER))
    assert 'class="nav-user">alice</a>' in html


PAGES = ["/", "/login", "/register", "/u/writer", "/posts/{post}", "/no/such/page"]
SIGNED_IN_PAGES = [
    "/",
    "/u/writer",
    "/posts/{post}",
    "/posts/new",
    "/posts/{post}/edit",
    "/posts/{post}/delete",
    "/admin/audit",
    "/admin/deleted",
]
EVERY_PAGE = [(path, False) for path in PAGES] + [(path, True) for path in SIGNED_IN_PAGES]


@pytest.fixture
def post_id(make_user, make_post):
    """A published post by ``writer``."""
    return make_post(make_user("writer"), body="Hello **world**").id


@pytest.fixture
def open_page(client, make_admin, post_id):
    """Open a page anonymously or as an admin; returns the response."""
    admin = None

    def fetch(path: str, signed_in: bool):
        nonlocal admin
        if signed_in and admin is None:
            admin = make_admin()
            sign_in(client, admin)
        response = client.get(path.format(post=post_id), headers=BROWSER)
        assert response.status_code in (200, 404), (path, response.status_code)
        return response

    return fetch


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_the_content_security_policy(client, post_id, path):
    policy = client.get(path.format(post=post_id), headers=BROWSER).headers[
        "Content-Security-Policy"
    ]
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize(("path", "signed_in"), EVERY_PAGE)
def test_pages_need_no_inline_script_or_style(open_page, path, signed_in):
    html = page_text(open_page(path, signed_in))
    assert "<script" not in html
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


@pytest.mark.parametrize(("path", "signed_in"), EVERY_PAGE)
def test_pages_load_nothing_from_other_sites(open_page, path, signed_in):
    html = page_text(open_page(path, signed_in))
    assert not re.search(r'<(?:link|script|img)[^>]+(?:href|src)="(?:https?:)?//', html)


@pytest.mark.parametrize(("path", "signed_in"), EVERY_PAGE)
def test_pages_declare_their_language_and_name_the_app(open_page, path, signed_in):
    html = page_text(open_page(path, signed_in))
    assert '<html lang="en">' in html
    assert re.search(r"<title>[^<]* · Inkwell</title>", html)
    assert '<a class="brand" href="/">Inkwell</a>' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_app_name_comes_from_the_settings(make_settings, database_url):
    app = create_app(make_settings(database_url=database_url, app_name="Quill & Co"))
    html = page_text(app.test_client().get("/login"))
    assert "<title>Sign in · Quill &amp; Co</title>" in html
    assert '<a class="brand" href="/">Quill &amp; Co</a>' in html


@pytest.mark.parametrize(("path", "signed_in"), EVERY_PAGE)
def test_every_form_field_has_a_label(open_page, path, signed_in):
    response = open_page(path, signed_in)
    fields = form_fields(response)
    html = page_text(response)
    for control in fields.controls:
        if control.get("type") in ("hidden", "submit"):
            continue
        if control.get("type") == "radio":
            assert re.search(
                rf'<label class="choice"><input type="radio" name="{control["name"]}" '
                rf'value="{control["value"]}"',
                html,
            )
        else:
            assert control.get("id") in fields.label_targets, control


def test_stylesheet_is_served_by_the_app_and_uses_no_external_assets(client):
    response = client.get("/static/css/site.css")
    css = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "@import" not in css
    assert "url(" not in css
    assert ":focus-visible" in css


def test_templates_reference_no_external_assets():
    for template in (BASE_DIR / "templates").rglob("*.html"):
        if template.name == "api_docs.html":
            continue
        text = template.read_text(encoding="utf-8")
        assert not re.search(r'(?:href|src)="(?:https?:)?//', text), template
