"""Posts through the API: feed, drafts, create, update, delete, restore, history, ETags."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.api_helpers import (
    assert_error,
    assert_success,
    auth_headers,
    detail_fields,
)

POSTS = "/api/v1/posts"


def post_url(post_id: int, suffix: str = "") -> str:
    """The URL of one post (or of one of its sub-resources)."""
    return f"{POSTS}/{post_id}{suffix}"


def count_posts(app) -> int:
    """How many posts exist, deleted ones included."""
    from app.extensions import db
    from app.models import INCLUDE_DELETED, Post

    with app.app_context():
        statement = select(func.count(Post.id)).execution_options(**{INCLUDE_DELETED: True})
        return db.session.scalar(statement)


def stored_post(app, post_id: int):
    """The post row as stored, deleted or not."""
    from app.extensions import db
    from app.models import INCLUDE_DELETED, Post

    with app.app_context():
        statement = (
            select(Post).where(Post.id == post_id).execution_options(**{INCLUDE_DELETED: True})
        )
        post = db.session.scalar(statement)
        db.session.expunge_all()
        return post


# -- the feed ------------------------------------------------------------------------------


def test_feed_lists_published_posts_only(client, make_user, make_post):
    author = make_user()
    published = make_post(author, title="Out")
    make_post(author, title="Draft", status="draft")
    response = client.get(POSTS)
    body = response.get_json()
    assert [post["id"] for post in assert_success(response)] == [published.id]
    assert body["pagination"] == {"skip": 0, "limit": 20, "total": 1}


def test_feed_is_newest_first(client, make_post):
    ids = [make_post().id for _ in range(3)]
    data = assert_success(client.get(POSTS))
    assert [post["id"] for post in data] == list(reversed(ids))


def test_feed_orders_by_publication_time_not_creation(app, client, make_user, make_post):
    author = make_user()
    early_draft = make_post(author, status="draft")
    later = make_post(author)
    headers = auth_headers(app, author)
    client.patch(post_url(early_draft.id), json={"status": "published"}, headers=headers)
    data = assert_success(client.get(POSTS))
    assert [post["id"] for post in data] == [early_draft.id, later.id]


def test_feed_filters_by_author_ignoring_case(client, make_user, make_post):
    alice, bob = make_user("alice"), make_user("bob")
    mine = make_post(alice)
    make_post(bob)
    data = assert_success(client.get(f"{POSTS}?author=ALICE"))
    assert [post["id"] for post in data] == [mine.id]
    assert data[0]["author"] == {"id": alice.id, "username": "alice"}


def test_feed_for_an_unknown_author_is_empty(client, make_post):
    make_post()
    response = client.get(f"{POSTS}?author=nobody")
    assert assert_success(response) == []
    assert response.get_json()["pagination"]["total"] == 0


def test_feed_with_an_empty_author_is_422(client):
    response = client.get(f"{POSTS}?author=")
    assert_error(response, 422)
    assert detail_fields(response) == {"author"}


# -- create --------------------------------------------------------------------------------


def test_create_post_answers_201_with_etag_and_location(app, client, make_user):
    author = make_user("alice")
    response = client.post(
        POSTS,
        json={"title": "  Hello world  ", "body": "Text", "status": "published"},
        headers=auth_headers(app, author),
    )
    data = assert_success(response, 201)
    assert data["title"] == "Hello world"
    assert data["slug"] == "hello-world"
    assert data["status"] == "published"
    assert data["published_at"] is not None
    assert data["author"] == {"id": author.id, "username": "alice"}
    assert data["added_by"] == data["updated_by"] == author.id
    assert data["version"] == 1
    assert response.headers["ETag"] == f'"post-{data["id"]}-v1"'
    assert response.headers["Location"].endswith(post_url(data["id"]))
    assert stored_post(app, data["id"]).title == "Hello world"


def test_new_post_is_a_draft_by_default(app, client, make_user):
    response = client.post(
        POSTS, json={"title": "T", "body": "B"}, headers=auth_headers(app, make_user())
    )
    data = assert_success(response, 201)
    assert data["status"] == "draft"
    assert data["published_at"] is None


def test_same_title_gets_a_distinct_slug(app, client, make_user):
    headers = auth_headers(app, make_user())
    first = client.post(POSTS, json={"title": "Same", "body": "B"}, headers=headers)
    second = client.post(POSTS, json={"title": "Same", "body": "B"}, headers=headers)
    assert assert_success(first, 201)["slug"] != assert_success(second, 201)["slug"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "B"}, "title"),
        ({"title": "T"}, "body"),
        ({"title": "   ", "body": "B"}, "title"),
        ({"title": "x" * 201, "body": "B"}, "title"),
        ({"title": "T", "body": ""}, "body"),
        ({"title": "T", "body": "   "}, "body"),
        ({"title": "T", "body": "x" * 100_001}, "body"),
        ({"title": 5, "body": "B"}, "title"),
        ({"title": "T", "body": ["B"]}, "body"),
        ({"title": "T", "body": "B", "status": "secret"}, "status"),
        ({"title": "T", "body": "B", "id": 9}, "id"),
        ({"title": "T", "body": "B", "slug": "mine"}, "slug"),
        ({"title": "T", "body": "B", "author_id": 1}, "author_id"),
        ({"title": "T", "body": "B", "version": 3}, "version"),
        ({"title": "T", "body": "B", "published_at": "2020-01-01T00:00:00Z"}, "published_at"),
        ({"title": "T", "body": "B", "date_updated": "2020-01-01T00:00:00Z"}, "date_updated"),
        ({"title": "T", "body": "B", "updated_by": 1}, "updated_by"),
        ({"title": "T", "body": "B", "deleted_at": None}, "deleted_at"),
    ],
)
def test_create_post_rejects_bad_fields_and_writes_nothing(app, client, make_user, body, field):
    response = client.post(POSTS, json=body, headers=auth_headers(app, make_user()))
    assert_error(response, 422)
    assert field in detail_fields(response)
    assert count_posts(app) == 0


def test_title_of_200_characters_after_trimming_is_accepted(app, client, make_user):
    title = "  " + "x" * 200 + "  "
    response = client.post(
        POSTS, json={"title": title, "body": "B"}, headers=auth_headers(app, make_user())
    )
    assert assert_success(response, 201)["title"] == "x" * 200


def test_create_post_with_a_non_object_body_is_400(app, client, make_user):
    response = client.post(POSTS, json=["title"], headers=auth_headers(app, make_user()))
    assert_error(response, 400)


def test_create_post_with_form_data_is_415(app, client, make_user):
    response = client.post(POSTS, data={"title": "T"}, headers=auth_headers(app, make_user()))
    assert_error(response, 415)


def test_create_post_over_the_size_limit_is_413_and_writes_nothing(app, client, make_user):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        POSTS,
        json={"title": "T", "body": "x" * limit},
        headers=auth_headers(app, make_user()),
    )
    assert_error(response, 413)
    assert count_posts(app) == 0


# -- read one ------------------------------------------------------------------------------


def test_published_post_is_public_with_an_etag(client, make_post):
    post = make_post()
    response = client.get(post_url(post.id))
    assert assert_success(response)["id"] == post.id
    assert response.headers["ETag"] == f'"post-{post.id}-v1"'


@pytest.mark.parametrize("viewer", ["author", "admin"])
def test_draft_is_visible_to_its_author_and_admins(app, client, make_user, make_post, viewer):
    author = make_user()
    draft = make_post(author, status="draft")
    reader = author if viewer == "author" else make_user(role="admin")
    response = client.get(post_url(draft.id), headers=auth_headers(app, reader))
    assert assert_success(response)["status"] == "draft"


@pytest.mark.parametrize("viewer", ["anonymous", "other"])
def test_draft_is_404_to_everyone_else(app, client, make_user, make_post, viewer):
    draft = make_post(status="draft")
    reader = None if viewer == "anonymous" else make_user()
    assert_error(client.get(post_url(draft.id), headers=auth_headers(app, reader)), 404)


@pytest.mark.parametrize("post_id", ["999", "0", "-1", "abc", "1.5", str(2**31), str(2**64)])
def test_missing_or_malformed_post_id_is_404(client, post_id):
    assert_error(client.get(f"{POSTS}/{post_id}"), 404)


# -- update --------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Old title", body="Old body")
    response = client.patch(
        post_url(post.id), json={"title": "New title"}, headers=auth_headers(app, author)
    )
    data = assert_success(response)
    assert (data["title"], data["body"]) == ("New title", "Old body")
    assert data["version"] == 2
    assert data["slug"] == post.slug
    assert response.headers["ETag"] == f'"post-{post.id}-v2"'


def test_patch_sets_updated_by_but_not_added_by(app, client, make_user, make_post):
    author, admin = make_user(), make_user(role="admin")
    post = make_post(author)
    response = client.patch(
        post_url(post.id), json={"body": "Edited"}, headers=auth_headers(app, admin)
    )
    data = assert_success(response)
    assert (data["added_by"], data["updated_by"]) == (author.id, admin.id)
    assert data["date_added"] != data["date_updated"]


def test_patch_publishing_a_draft_sets_published_at(app, client, make_user, make_post):
    author = make_user()
    draft = make_post(author, status="draft")
    response = client.patch(
        post_url(draft.id), json={"status": "published"}, headers=auth_headers(app, author)
    )
    assert assert_success(response)["published_at"] is not None


def test_empty_patch_changes_nothing(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    response = client.patch(post_url(post.id), json={}, headers=auth_headers(app, author))
    assert assert_success(response)["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"body": "x" * 100_001}, "body"),
        ({"status": "archived"}, "status"),
        ({"author_id": 99}, "author_id"),
        ({"id": 5}, "id"),
        ({"date_added": "2020-01-01T00:00:00Z"}, "date_added"),
    ],
)
def test_patch_rejects_bad_fields_and_changes_nothing(
    app, client, make_user, make_post, body, field
):
    author = make_user()
    post = make_post(author, title="Kept")
    response = client.patch(post_url(post.id), json=body, headers=auth_headers(app, author))
    assert_error(response, 422)
    assert field in detail_fields(response)
    stored = stored_post(app, post.id)
    assert (stored.title, stored.version) == ("Kept", 1)


def test_patch_of_a_missing_post_is_404(app, client, make_user):
    response = client.patch(
        post_url(999), json={"title": "X"}, headers=auth_headers(app, make_user())
    )
    assert_error(response, 404)


# -- ETag and If-Match ---------------------------------------------------------------------


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Original")
    headers = auth_headers(app, author)
    first = client.patch(
        post_url(post.id),
        json={"title": "First"},
        headers={**headers, "If-Match": f'"post-{post.id}-v1"'},
    )
    assert_success(first)
    stale = client.patch(
        post_url(post.id),
        json={"title": "Second"},
        headers={**headers, "If-Match": f'"post-{post.id}-v1"'},
    )
    assert_error(stale, 412)
    stored = stored_post(app, post.id)
    assert (stored.title, stored.version) == ("First", 2)


@pytest.mark.parametrize("if_match", ['"post-{id}-v1"', "*", '"other", "post-{id}-v1"'])
def test_patch_with_a_matching_if_match_succeeds(app, client, make_user, make_post, if_match):
    author = make_user()
    post = make_post(author)
    headers = {**auth_headers(app, author), "If-Match": if_match.format(id=post.id)}
    response = client.patch(post_url(post.id), json={"title": "Fine"}, headers=headers)
    assert assert_success(response)["title"] == "Fine"


@pytest.mark.parametrize("if_match", ['W/"post-{id}-v1"', '"comment-{id}-v1"', '"garbage"'])
def test_patch_with_a_weak_or_foreign_if_match_is_412(app, client, make_user, make_post, if_match):
    author = make_user()
    post = make_post(author)
    headers = {**auth_headers(app, author), "If-Match": if_match.format(id=post.id)}
    assert_error(client.patch(post_url(post.id), json={"title": "X"}, headers=headers), 412)


def test_etag_from_a_get_can_be_used_for_the_next_write(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    headers = auth_headers(app, author)
    etag = client.get(post_url(post.id), headers=headers).headers["ETag"]
    response = client.patch(
        post_url(post.id), json={"body": "New"}, headers={**headers, "If-Match": etag}
    )
    assert_success(response)


def test_delete_with_a_stale_if_match_is_412_and_keeps_the_post(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    headers = auth_headers(app, author)
    client.patch(post_url(post.id), json={"title": "Changed"}, headers=headers)
    response = client.delete(
        post_url(post.id), headers={**headers, "If-Match": f'"post-{post.id}-v1"'}
    )
    assert_error(response, 412)
    assert stored_post(app, post.id).deleted_at is None


# -- delete and restore --------------------------------------------------------------------


def test_delete_soft_deletes_the_post(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    response = client.delete(post_url(post.id), headers=auth_headers(app, author))
    assert assert_success(response) is None
    assert response.get_json()["message"] == "Post deleted"
    stored = stored_post(app, post.id)
    assert stored.deleted_at is not None
    assert stored.deleted_by == author.id


def test_deleted_post_disappears_from_lookups_and_lists(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    client.delete(post_url(post.id), headers=auth_headers(app, author))
    assert_error(client.get(post_url(post.id), headers=auth_headers(app, author)), 404)
    assert assert_success(client.get(POSTS)) == []


def test_deleting_twice_is_404(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    headers = auth_headers(app, author)
    client.delete(post_url(post.id), headers=headers)
    assert_error(client.delete(post_url(post.id), headers=headers), 404)


def test_admin_restores_a_deleted_post(app, client, make_user, make_post):
    author, admin = make_user(), make_user(role="admin")
    post = make_post(author)
    client.delete(post_url(post.id), headers=auth_headers(app, author))
    response = client.post(post_url(post.id, "/restore"), headers=auth_headers(app, admin))
    data = assert_success(response)
    assert data["deleted_at"] is None
    assert response.headers["ETag"] == f'"post-{post.id}-v{data["version"]}"'
    assert assert_success(client.get(post_url(post.id)))["id"] == post.id


def test_restoring_a_post_that_is_not_deleted_is_409(app, client, make_user, make_post):
    post = make_post()
    response = client.post(
        post_url(post.id, "/restore"), headers=auth_headers(app, make_user(role="admin"))
    )
    assert_error(response, 409)


def test_restoring_a_missing_post_is_404(app, client, make_user):
    response = client.post(
        post_url(999, "/restore"), headers=auth_headers(app, make_user(role="admin"))
    )
    assert_error(response, 404)


# -- history -------------------------------------------------------------------------------


def test_history_lists_the_posts_events_newest_first(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author, title="One")
    headers = auth_headers(app, author)
    client.patch(post_url(post.id), json={"title": "Two"}, headers=headers)
    response = client.get(post_url(post.id, "/history"), headers=headers)
    events = assert_success(response)
    assert [event["action"] for event in events] == ["update", "create"]
    assert events[0]["changes"]["title"] == {"old": "One", "new": "Two"}
    assert events[0]["actor_id"] == author.id
    assert {event["entity_id"] for event in events} == {post.id}
    assert response.get_json()["pagination"]["total"] == 2


def test_admin_sees_the_history_of_a_deleted_post(app, client, make_user, make_post):
    author, admin = make_user(), make_user(role="admin")
    post = make_post(author)
    client.delete(post_url(post.id), headers=auth_headers(app, author))
    response = client.get(post_url(post.id, "/history"), headers=auth_headers(app, admin))
    assert [event["action"] for event in assert_success(response)] == ["delete", "create"]


def test_history_of_a_missing_post_is_404(app, client, make_user):
    response = client.get(post_url(999, "/history"), headers=auth_headers(app, make_user()))
    assert_error(response, 404)


def test_author_filter_with_a_nul_character_is_422(client):
    response = client.get(f"{POSTS}?author=al%00ice")
    assert_error(response, 422)
    assert detail_fields(response) == {"author"}


def test_post_text_with_a_nul_character_is_422(app, client, make_user):
    response = client.post(
        POSTS, json={"title": "T\u0000", "body": "B"}, headers=auth_headers(app, make_user())
    )
    assert_error(response, 422)
    assert detail_fields(response) == {"title"}
    assert count_posts(app) == 0
