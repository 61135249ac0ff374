"""Content outlives its author: a deleted author is ``null``, never a 500; totals stay exact."""

from __future__ import annotations

import pytest

from app.services import user_admin_service
from tests.api_helpers import assert_success, auth_headers


@pytest.fixture
def admin(make_admin):
    """An admin, who deletes and restores the author."""
    return make_admin("boss")


@pytest.fixture
def gone(app, admin, make_user, make_post, make_comment):
    """A deleted author with a published post, a draft and a comment, and a reader's comment."""
    author = make_user("vanished")
    reader = make_user("reader")
    post = make_post(author, title="Left behind")
    draft = make_post(author, title="Unfinished", status="draft")
    own_comment = make_comment(post, author, body="My own words.")
    other_comment = make_comment(post, reader, body="Still here.")
    make_post(reader, title="The reader's post")
    with app.app_context():
        user_admin_service.delete_user(author.id, _reloaded(admin))
    return {
        "author": author,
        "post": post,
        "draft": draft,
        "own_comment": own_comment,
        "other_comment": other_comment,
    }


def _reloaded(user):
    """``user`` read again in the current app context (the services take live objects)."""
    from app.extensions import db
    from app.models import User

    return db.session.get(User, user.id)


def test_the_feed_shows_the_post_with_a_null_author_and_exact_totals(client, gone):
    response = client.get("/api/v1/posts")
    items = assert_success(response)
    by_title = {item["title"]: item for item in items}
    assert by_title["Left behind"]["author"] is None
    assert by_title["The reader's post"]["author"]["username"] == "reader"
    assert response.get_json()["pagination"]["total"] == 2


def test_every_page_of_the_feed_holding_the_post_answers(client, gone):
    for skip in (0, 1):
        response = client.get(f"/api/v1/posts?limit=1&skip={skip}")
        assert response.status_code == 200
        assert response.get_json()["pagination"]["total"] == 2


def test_filtering_the_feed_by_a_deleted_author_finds_nothing(client, gone):
    response = client.get("/api/v1/posts?author=vanished")
    assert assert_success(response) == []
    assert response.get_json()["pagination"]["total"] == 0


@pytest.mark.parametrize("viewer", ["anonymous", "admin"])
def test_the_post_itself_answers_with_a_null_author(app, client, gone, admin, viewer):
    headers = auth_headers(app, admin if viewer == "admin" else None)
    data = assert_success(client.get(f"/api/v1/posts/{gone['post'].id}", headers=headers))
    assert data["author"] is None
    assert data["title"] == "Left behind"


def test_admins_see_the_deleted_authors_draft(app, client, gone, admin):
    response = client.get(f"/api/v1/posts/{gone['draft'].id}", headers=auth_headers(app, admin))
    assert assert_success(response)["author"] is None


def test_the_posts_history_answers(app, client, gone, admin):
    response = client.get(
        f"/api/v1/posts/{gone['post'].id}/history", headers=auth_headers(app, admin)
    )
    assert [event["action"] for event in assert_success(response)] == ["create"]


def test_the_comment_thread_answers_with_a_null_author(client, gone):
    response = client.get(f"/api/v1/posts/{gone['post'].id}/comments")
    comments = assert_success(response)
    assert [comment["author"] for comment in comments] == [
        None,
        {"id": comments[1]["author"]["id"], "username": "reader"},
    ]
    assert response.get_json()["pagination"]["total"] == 2


@pytest.mark.parametrize("which", ["own_comment", "other_comment"])
def test_single_comments_answer(client, gone, which):
    data = assert_success(client.get(f"/api/v1/comments/{gone[which].id}"))
    assert (data["author"] is None) == (which == "own_comment")


def test_an_admin_edits_the_post(app, client, gone, admin):
    response = client.patch(
        f"/api/v1/posts/{gone['post'].id}",
        json={"title": "Edited by an admin"},
        headers=auth_headers(app, admin),
    )
    data = assert_success(response)
    assert (data["title"], data["author"]) == ("Edited by an admin", None)


def test_an_admin_deletes_and_restores_the_post(app, client, gone, admin):
    headers = auth_headers(app, admin)
    post_id = gone["post"].id
    assert_success(client.delete(f"/api/v1/posts/{post_id}", headers=headers))
    restored = assert_success(client.post(f"/api/v1/posts/{post_id}/restore", headers=headers))
    assert restored["author"] is None
    assert_success(client.get(f"/api/v1/posts/{post_id}?include_deleted=true", headers=headers))


def test_an_admin_deletes_the_comment(app, client, gone, admin):
    response = client.delete(
        f"/api/v1/comments/{gone['own_comment'].id}", headers=auth_headers(app, admin)
    )
    assert_success(response)


def test_admin_lists_answer(app, client, gone, admin):
    headers = auth_headers(app, admin)
    deleted = assert_success(client.get("/api/v1/admin/users?status=deleted", headers=headers))
    assert [user["username"] for user in deleted] == ["vanished"]
    assert_success(client.get("/api/v1/audit", headers=headers))


def test_restoring_the_account_restores_the_attribution(app, client, gone, admin):
    headers = auth_headers(app, admin)
    assert_success(client.post(f"/api/v1/admin/users/{gone['author'].id}/restore", headers=headers))
    post = assert_success(client.get(f"/api/v1/posts/{gone['post'].id}"))
    assert post["author"]["username"] == "vanished"
    feed = assert_success(client.get("/api/v1/posts?author=vanished"))
    assert [item["title"] for item in feed] == ["Left behind"]


def test_a_deactivated_author_is_shown_as_usual(app, client, admin, make_user, make_post):
    author = make_user("resting")
    post = make_post(author, title="Still signed")
    client.patch(
        f"/api/v1/admin/users/{author.id}",
        json={"is_active": False},
        headers=auth_headers(app, admin),
    )
    data = assert_success(client.get(f"/api/v1/posts/{post.id}"))
    assert data["author"] == {"id": author.id, "username": "resting"}
    assert_success(client.get("/api/v1/users/resting"))
