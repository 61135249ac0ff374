"""Single posts and comments: If-None-Match with the record's current ETag is a 304."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import User
from app.services import user_admin_service
from tests.api_helpers import auth_headers
from tests.db_helpers import statements_of


@pytest.fixture
def records(make_user, make_admin, make_post, make_comment):
    """A published post by ``writer`` with a comment by ``reader``, a draft, and an admin."""
    writer, reader = make_user("writer"), make_user("reader")
    post = make_post(writer, title="Tagged")
    comment = make_comment(post, reader, body="Tagged too")
    draft = make_post(writer, status="draft")
    return {
        "post": post,
        "comment": comment,
        "draft": draft,
        "writer": writer,
        "reader": reader,
        "admin": make_admin(),
    }


def url_of(records, name: str) -> str:
    """The API URL of the post or comment called ``name`` in ``records``."""
    kind = "comments" if name == "comment" else "posts"
    return f"/api/v1/{kind}/{records[name].id}"


def statements_during(app, action):
    """The SQL statements ``action()`` sends, and its result."""
    with statements_of(app) as sent:
        result = action()
    return result, sent


@pytest.mark.parametrize("name", ["post", "comment"])
def test_the_current_tag_is_a_304_without_a_body(client, records, name):
    etag = client.get(url_of(records, name)).headers["ETag"]
    response = client.get(url_of(records, name), headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag


@pytest.mark.parametrize("name", ["post", "comment"])
def test_a_304_takes_one_small_statement(app, client, records, name):
    etag = client.get(url_of(records, name)).headers["ETag"]
    response, sent = statements_during(
        app, lambda: client.get(url_of(records, name), headers={"If-None-Match": etag})
    )
    assert response.status_code == 304
    assert len(sent) == 1, sent
    assert "body" not in sent[0]  # the version and attribution, not the record


@pytest.mark.parametrize("name", ["post", "comment"])
def test_a_stale_tag_gets_the_record(client, records, name):
    etag = client.get(url_of(records, name)).headers["ETag"]
    stale = etag.replace("-v1", "-v0")
    response = client.get(url_of(records, name), headers={"If-None-Match": stale})
    assert response.status_code == 200
    assert response.headers["ETag"] == etag


def test_an_edit_changes_the_tag(app, client, records):
    url = url_of(records, "post")
    etag = client.get(url).headers["ETag"]
    headers = auth_headers(app, records["writer"])
    assert client.patch(url, json={"title": "Retitled"}, headers=headers).status_code == 200
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.json["data"]["title"] == "Retitled"


@pytest.mark.parametrize("name", ["post", "comment"])
def test_deleting_the_author_changes_the_tag_and_restoring_brings_it_back(
    app, client, records, name
):
    author = records["writer"] if name == "post" else records["reader"]
    url = url_of(records, name)
    live_tag = client.get(url).headers["ETag"]
    with app.app_context():
        admin = db.session.get(User, records["admin"].id)
        user_admin_service.delete_user(author.id, admin)
    response = client.get(url, headers={"If-None-Match": live_tag})
    assert response.status_code == 200
    assert response.json["data"]["author"] is None
    orphan_tag = response.headers["ETag"]
    assert orphan_tag != live_tag and orphan_tag.endswith('-deleted-author"')
    assert client.get(url, headers={"If-None-Match": orphan_tag}).status_code == 304
    with app.app_context():
        admin = db.session.get(User, records["admin"].id)
        user_admin_service.restore_user(author.id, admin)
    response = client.get(url, headers={"If-None-Match": orphan_tag})
    assert response.status_code == 200
    assert response.json["data"]["author"]["username"] == author.username
    assert response.headers["ETag"] == live_tag


def test_if_match_still_takes_a_tag_of_a_deleted_authors_post(app, client, records):
    url = url_of(records, "post")
    with app.app_context():
        user_admin_service.delete_user(
            records["writer"].id, db.session.get(User, records["admin"].id)
        )
    orphan_tag = client.get(url).headers["ETag"]
    headers = {**auth_headers(app, records["admin"]), "If-Match": orphan_tag}
    assert client.patch(url, json={"title": "Kept"}, headers=headers).status_code == 200
    headers["If-Match"] = orphan_tag  # now stale: the write moved the version on
    assert client.patch(url, json={"title": "Lost"}, headers=headers).status_code == 412


def test_a_draft_is_not_a_304_for_someone_who_may_not_see_it(app, client, records):
    url = url_of(records, "draft")
    author = auth_headers(app, records["writer"])
    etag = client.get(url, headers=author).headers["ETag"]
    assert client.get(url, headers={**author, "If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 404
    other = auth_headers(app, records["reader"])
    assert client.get(url, headers={**other, "If-None-Match": etag}).status_code == 404


def test_a_deleted_record_is_not_a_304(app, client, records):
    url = url_of(records, "comment")
    etag = client.get(url).headers["ETag"]
    headers = auth_headers(app, records["reader"])
    assert client.delete(url, headers=headers).status_code == 200
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_a_comment_of_a_deleted_post_is_not_a_304(app, client, records):
    url = url_of(records, "comment")
    etag = client.get(url).headers["ETag"]
    headers = auth_headers(app, records["writer"])
    assert client.delete(url_of(records, "post"), headers=headers).status_code == 200
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_a_weak_form_of_the_current_tag_is_a_304_too(client, records):
    url = url_of(records, "post")
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
