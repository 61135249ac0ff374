"""Who may do what: every mutating endpoint (and the restricted reads) for every kind of caller."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.api_helpers import auth_headers

ROLES = ("anonymous", "other", "author", "admin")


@dataclass
class World:
    """A post by ``author``, a comment on it by ``commenter``, and the other actors."""

    author: object
    commenter: object
    other: object
    admin: object
    post: object
    comment: object

    def caller(self, role: str):
        """The user acting as ``role`` (None for anonymous)."""
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def world(make_user, make_post, make_comment) -> World:
    """The actors and records of an authorization scenario."""
    author = make_user("author")
    commenter = make_user("commenter")
    post = make_post(author)
    return World(
        author=author,
        commenter=commenter,
        other=make_user("other"),
        admin=make_user("admin", role="admin"),
        post=post,
        comment=make_comment(post, commenter),
    )


# (method, path template, JSON body, expected status for anonymous, other, author, admin)
POST_MATRIX = [
    ("POST", "/api/v1/posts", {"title": "T", "body": "B"}, (401, 201, 201, 201)),
    ("PATCH", "/api/v1/posts/{post}", {"title": "New"}, (401, 403, 200, 200)),
    ("DELETE", "/api/v1/posts/{post}", None, (401, 403, 200, 200)),
    ("POST", "/api/v1/posts/{post}/comments", {"body": "Hi"}, (401, 201, 201, 201)),
    ("GET", "/api/v1/posts/{post}/history", None, (401, 403, 200, 200)),
    ("GET", "/api/v1/audit", None, (401, 403, 403, 200)),
    ("GET", "/api/v1/auth/me", None, (401, 200, 200, 200)),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "role", "expected"),
    [
        pytest.param(method, path, body, role, statuses[index], id=f"{method} {path} {role}")
        for method, path, body, statuses in POST_MATRIX
        for index, role in enumerate(ROLES)
    ],
)
def test_post_endpoints_authorization(app, client, world, method, path, body, role, expected):
    url = path.format(post=world.post.id)
    response = client.open(
        url, method=method, json=body, headers=auth_headers(app, world.caller(role))
    )
    assert response.status_code == expected, response.get_json()
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("other", 403), ("author", 403), ("admin", 200)],
)
def test_restore_authorization(app, client, world, role, expected):
    client.delete(f"/api/v1/posts/{world.post.id}", headers=auth_headers(app, world.author))
    response = client.post(
        f"/api/v1/posts/{world.post.id}/restore", headers=auth_headers(app, world.caller(role))
    )
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("other", 403),
        ("commenter", 200),
        ("author", 200),
        ("admin", 200),
    ],
)
def test_comment_delete_authorization(app, client, world, role, expected):
    response = client.delete(
        f"/api/v1/comments/{world.comment.id}", headers=auth_headers(app, world.caller(role))
    )
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_forbidden_edit_changes_nothing(app, client, world, role):
    client.patch(
        f"/api/v1/posts/{world.post.id}",
        json={"title": "Hijacked"},
        headers=auth_headers(app, world.caller(role)),
    )
    title = client.get(f"/api/v1/posts/{world.post.id}").get_json()["data"]["title"]
    assert (title == "Hijacked") == (role in ("author", "admin"))


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("other", 404), ("author", 200), ("admin", 200)],
)
def test_draft_edit_authorization(app, client, world, make_post, role, expected):
    draft = make_post(world.author, status="draft")
    response = client.patch(
        f"/api/v1/posts/{draft.id}",
        json={"body": "Edited"},
        headers=auth_headers(app, world.caller(role)),
    )
    assert response.status_code == expected
