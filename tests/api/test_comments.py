"""Comments through the API: list, create, read, delete, visibility and ETags."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.api_helpers import assert_error, assert_success, auth_headers, detail_fields


def comments_url(post_id: int) -> str:
    """The comments collection of a post."""
    return f"/api/v1/posts/{post_id}/comments"


def comment_url(comment_id: int) -> str:
    """One comment."""
    return f"/api/v1/comments/{comment_id}"


def count_comments(app) -> int:
    """How many comments exist, deleted ones included."""
    from app.extensions import db
    from app.models import INCLUDE_DELETED, Comment

    with app.app_context():
        statement = select(func.count(Comment.id)).execution_options(**{INCLUDE_DELETED: True})
        return db.session.scalar(statement)


def test_comments_are_listed_oldest_first(client, make_post, make_comment):
    post = make_post()
    ids = [make_comment(post).id for _ in range(3)]
    response = client.get(comments_url(post.id))
    assert [comment["id"] for comment in assert_success(response)] == ids
    assert response.get_json()["pagination"]["total"] == 3


def test_comment_list_shows_the_author(client, make_user, make_post, make_comment):
    post = make_post()
    commenter = make_user("carol")
    make_comment(post, commenter)
    data = assert_success(client.get(comments_url(post.id)))
    assert data[0]["author"] == {"id": commenter.id, "username": "carol"}


def test_create_comment_answers_201_with_etag_and_location(app, client, make_user, make_post):
    post = make_post()
    commenter = make_user()
    response = client.post(
        comments_url(post.id), json={"body": "Nice post"}, headers=auth_headers(app, commenter)
    )
    data = assert_success(response, 201)
    assert (data["body"], data["post_id"]) == ("Nice post", post.id)
    assert data["added_by"] == commenter.id
    assert response.headers["ETag"] == f'"comment-{data["id"]}-v1"'
    assert response.headers["Location"].endswith(comment_url(data["id"]))
    assert count_comments(app) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "  \n "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": 42}, "body"),
        ({"body": "ok", "post_id": 3}, "post_id"),
        ({"body": "ok", "author_id": 3}, "author_id"),
        ({"body": "ok", "id": 3}, "id"),
        ({"body": "ok", "added_by": 3}, "added_by"),
    ],
)
def test_create_comment_rejects_bad_fields_and_writes_nothing(
    app, client, make_user, make_post, body, field
):
    post = make_post()
    response = client.post(comments_url(post.id), json=body, headers=auth_headers(app, make_user()))
    assert_error(response, 422)
    assert field in detail_fields(response)
    assert count_comments(app) == 0


def test_comment_of_5000_characters_is_accepted(app, client, make_user, make_post):
    post = make_post()
    response = client.post(
        comments_url(post.id), json={"body": "x" * 5000}, headers=auth_headers(app, make_user())
    )
    assert_success(response, 201)


def test_comment_on_a_missing_post_is_404(app, client, make_user):
    response = client.post(
        comments_url(999), json={"body": "Hi"}, headers=auth_headers(app, make_user())
    )
    assert_error(response, 404)


def test_comment_on_a_deleted_post_is_404(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    client.delete(f"/api/v1/posts/{post.id}", headers=auth_headers(app, author))
    response = client.post(
        comments_url(post.id), json={"body": "Hi"}, headers=auth_headers(app, make_user())
    )
    assert_error(response, 404)
    assert count_comments(app) == 0


def test_comment_on_someone_elses_draft_is_404(app, client, make_user, make_post):
    draft = make_post(status="draft")
    response = client.post(
        comments_url(draft.id), json={"body": "Hi"}, headers=auth_headers(app, make_user())
    )
    assert_error(response, 404)


def test_author_may_comment_on_their_own_draft(app, client, make_user, make_post):
    author = make_user()
    draft = make_post(author, status="draft")
    response = client.post(
        comments_url(draft.id), json={"body": "Note to self"}, headers=auth_headers(app, author)
    )
    assert_success(response, 201)


def test_comments_of_a_draft_are_404_to_others(client, make_user, make_post):
    draft = make_post(status="draft")
    assert_error(client.get(comments_url(draft.id)), 404)


def test_comments_of_a_deleted_post_are_404(app, client, make_user, make_post, make_comment):
    author = make_user()
    post = make_post(author)
    comment = make_comment(post)
    client.delete(f"/api/v1/posts/{post.id}", headers=auth_headers(app, author))
    assert_error(client.get(comments_url(post.id)), 404)
    assert_error(client.get(comment_url(comment.id)), 404)


def test_single_comment_carries_its_etag(client, make_comment):
    comment = make_comment()
    response = client.get(comment_url(comment.id))
    assert assert_success(response)["id"] == comment.id
    assert response.headers["ETag"] == f'"comment-{comment.id}-v1"'


def test_missing_comment_is_404(client):
    assert_error(client.get(comment_url(999)), 404)


def test_deleted_comment_disappears_from_the_list(app, client, make_user, make_comment):
    commenter = make_user()
    comment = make_comment(author=commenter)
    response = client.delete(comment_url(comment.id), headers=auth_headers(app, commenter))
    assert assert_success(response) is None
    assert assert_success(client.get(comments_url(comment.post_id))) == []
    assert_error(client.get(comment_url(comment.id)), 404)
    assert count_comments(app) == 1


def test_delete_comment_with_a_stale_if_match_is_412_and_keeps_it(
    app, client, make_user, make_comment
):
    commenter = make_user()
    comment = make_comment(author=commenter)
    headers = {**auth_headers(app, commenter), "If-Match": f'"comment-{comment.id}-v7"'}
    assert_error(client.delete(comment_url(comment.id), headers=headers), 412)
    assert_success(client.get(comment_url(comment.id)))


def test_delete_comment_with_its_current_etag_succeeds(app, client, make_user, make_comment):
    commenter = make_user()
    comment = make_comment(author=commenter)
    etag = client.get(comment_url(comment.id)).headers["ETag"]
    headers = {**auth_headers(app, commenter), "If-Match": etag}
    assert_success(client.delete(comment_url(comment.id), headers=headers))
