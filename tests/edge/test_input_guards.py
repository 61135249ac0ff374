"""No request input yields a 500: nesting, giant and non-ASCII numbers, forged claims, hosts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.auth import TOKEN_ALGORITHM
from tests.api_helpers import assert_error, auth_headers, bearer
from tests.conftest import TEST_SECRET_KEY

HUGE = "9" * 5000


def forged_token(subject: object) -> str:
    """A token signed with the right key whose ``sub`` is ``subject``."""
    now = datetime.now(UTC)
    claims = {"sub": subject, "type": "access", "iat": now, "exp": now + timedelta(minutes=5)}
    return jwt.encode(claims, TEST_SECRET_KEY, algorithm=TOKEN_ALGORITHM)


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/auth/token"])
def test_deeply_nested_json_is_a_400(client, path):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(path, data=body, content_type="application/json")
    assert_error(response, 400)


def test_deeply_nested_json_to_an_authenticated_endpoint_is_a_400(app, client, make_user):
    headers = auth_headers(app, make_user())
    body = '{"title": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = client.post(
        "/api/v1/posts", data=body, content_type="application/json", headers=headers
    )
    assert_error(response, 400)


def test_an_integer_of_thousands_of_digits_in_json_is_a_400(client):
    body = '{"username": ' + HUGE + ', "password": "x"}'
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize(
    "path",
    [f"/api/v1/posts/{HUGE}", f"/api/v1/posts/{HUGE}/comments", f"/posts/{HUGE}", f"/u/{HUGE}"],
)
def test_an_integer_of_thousands_of_digits_in_a_path_is_a_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", [f"limit={HUGE}", f"skip={HUGE}", f"skip=-{HUGE}"])
def test_an_integer_of_thousands_of_digits_in_a_query_is_a_422(client, query):
    assert_error(client.get(f"/api/v1/posts?{query}"), 422)


@pytest.mark.parametrize("page", [HUGE, "\u0661", "\u00b2"])
def test_a_page_number_of_any_shape_is_a_404_page(client, page):
    assert client.get(f"/?page={page}").status_code == 404


@pytest.mark.parametrize("if_match", [f'"post-1-v{HUGE}"', f'"post-{HUGE}-v1"', '"post-1-v\u0661"'])
def test_an_if_match_of_any_shape_is_never_a_500(app, client, make_user, make_post, if_match):
    author = make_user()
    post = make_post(author)
    headers = {**auth_headers(app, author), "If-Match": if_match}
    response = client.patch(f"/api/v1/posts/{post.id}", json={"title": "x"}, headers=headers)
    assert_error(response, 412)


@pytest.mark.parametrize("subject", ["\u00b2", "\u0661", "1" * 40, "-1", "0", " 1", 1, None, "1e3"])
def test_a_well_signed_token_with_a_bad_subject_is_a_401(client, make_user, subject):
    make_user()  # user 1 exists: "\u0661" must not be read as 1
    response = client.get("/api/v1/auth/me", headers=bearer(forged_token(subject)))
    body = assert_error(response, 401)
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert body["message"] == "Invalid or expired token"


@pytest.mark.parametrize(
    "path", ["/api/v1/posts", "/api/v1/", "/api/v1/users/nobody", "/api/v1/posts/1/comments"]
)
def test_a_present_but_invalid_token_is_a_401_on_public_endpoints_too(client, path):
    response = client.get(path, headers=bearer("not-a-token"))
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_a_deactivated_user_is_a_401_on_the_public_feed(app, client, make_user):
    user = make_user(is_active=False)
    assert_error(client.get("/api/v1/posts", headers=auth_headers(app, user)), 401)


def test_another_host_is_refused_with_400_when_trusted_hosts_is_set(make_settings):
    from app import create_app

    application = create_app(make_settings(trusted_hosts="blog.example.com"))
    client = application.test_client()
    ok = client.get("/health/live", base_url="http://blog.example.com")
    assert ok.status_code == 200
    for path in ["/api/v1/", "/", "/nowhere"]:
        response = client.get(path, base_url="http://evil.example")
        body = assert_error(response, 400)
        assert "evil.example" not in response.get_data(as_text=True)
        assert body["request_id"]


def test_without_trusted_hosts_any_host_is_served(client):
    assert client.get("/api/v1/", base_url="http://anything.example").status_code == 200


def test_redirects_never_name_the_host(client):
    response = client.get("/posts/new", base_url="http://evil.example")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
