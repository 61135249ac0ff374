"""Admins, and only admins, can ask explicitly for a soft-deleted post."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error, assert_success, auth_headers

POSTS = "/api/v1/posts"


@pytest.fixture
def deleted_post(app, client, make_user, make_post):
    """A post its author has soft-deleted."""
    author = make_user()
    post = make_post(author)
    assert client.delete(f"{POSTS}/{post.id}", headers=auth_headers(app, author)).status_code == 200
    return post


def test_admin_asking_explicitly_gets_the_deleted_post(app, client, make_user, deleted_post):
    admin = make_user(role="admin")
    response = client.get(
        f"{POSTS}/{deleted_post.id}?include_deleted=true", headers=auth_headers(app, admin)
    )
    data = assert_success(response)
    assert data["id"] == deleted_post.id
    assert data["deleted_at"] is not None
    assert response.headers["ETag"] == f'"post-{deleted_post.id}-v{data["version"]}"'


def test_admin_without_asking_still_gets_404(app, client, make_user, deleted_post):
    admin = make_user(role="admin")
    response = client.get(f"{POSTS}/{deleted_post.id}", headers=auth_headers(app, admin))
    assert_error(response, 404)


def test_deleted_post_stays_out_of_the_admin_feed(app, client, make_user, deleted_post):
    admin = make_user(role="admin")
    assert assert_success(client.get(POSTS, headers=auth_headers(app, admin))) == []


def test_author_asking_for_a_deleted_post_is_403(app, client, make_user, deleted_post):
    response = client.get(
        f"{POSTS}/{deleted_post.id}?include_deleted=true",
        headers=auth_headers(app, deleted_post.author),
    )
    assert_error(response, 403)


def test_anonymous_asking_for_a_deleted_post_is_401(client, deleted_post):
    response = client.get(f"{POSTS}/{deleted_post.id}?include_deleted=true")
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_include_deleted_must_be_a_boolean(app, client, make_user, deleted_post):
    admin = make_user(role="admin")
    response = client.get(
        f"{POSTS}/{deleted_post.id}?include_deleted=perhaps", headers=auth_headers(app, admin)
    )
    body = assert_error(response, 422)
    assert body["details"][0]["field"] == "include_deleted"


def test_admin_asking_for_a_missing_post_gets_404(app, client, make_user):
    admin = make_user(role="admin")
    response = client.get(f"{POSTS}/999999?include_deleted=true", headers=auth_headers(app, admin))
    assert_error(response, 404)
