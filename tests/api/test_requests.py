"""Request bodies of every writing endpoint: JSON objects only, within the size limit."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error, auth_headers

# Every endpoint that reads a JSON body, with a valid body for it.
BODY_ENDPOINTS = [
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/posts"),
    ("PATCH", "/api/v1/posts/{post}"),
    ("POST", "/api/v1/posts/{post}/comments"),
]


@pytest.fixture
def target(app, make_user, make_post):
    """A user's headers and a post of theirs, to fill in the endpoints above."""
    author = make_user()
    post = make_post(author)
    return auth_headers(app, author), post.id


def send(client, target, method: str, path: str, **kwargs):
    """Call one endpoint as the post's author."""
    headers, post_id = target
    return client.open(
        path.format(post=post_id),
        method=method,
        headers={**headers, **kwargs.pop("headers", {})},
        **kwargs,
    )


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_malformed_json_is_400(client, target, method, path):
    response = send(
        client, target, method, path, data='{"title": ', content_type="application/json"
    )
    assert_error(response, 400, "Request body is not valid JSON")


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_json_that_is_not_an_object_is_400(client, target, method, path, body):
    response = send(client, target, method, path, data=body, content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_that_is_not_json_is_415(client, target, method, path, content_type):
    response = send(client, target, method, path, data="title=x", content_type=content_type)
    assert_error(response, 415)


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_a_missing_body_is_415(client, target, method, path):
    assert_error(send(client, target, method, path), 415)


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_a_body_over_the_limit_is_413(app, client, target, method, path):
    oversized = '{"body": "' + "x" * app.config["MAX_CONTENT_LENGTH"] + '"}'
    response = send(client, target, method, path, data=oversized, content_type="application/json")
    assert_error(response, 413)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/posts/{post}", {"GET", "PATCH", "DELETE"}),
        ("DELETE", "/api/v1/posts", {"GET", "POST"}),
        ("GET", "/api/v1/auth/token", {"POST"}),
        ("POST", "/api/v1/audit", {"GET"}),
    ],
)
def test_wrong_method_is_405_with_allow(client, target, method, path, allowed):
    response = send(client, target, method, path)
    assert_error(response, 405)
    assert allowed <= {value.strip() for value in response.headers["Allow"].split(",")}


def test_unknown_api_route_is_404_envelope(client):
    assert_error(client.get("/api/v1/nothing-here"), 404)
