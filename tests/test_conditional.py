"""Conditional GETs: anonymous reads carry a strong ETag that every write changes, and 304."""

from __future__ import annotations

import pytest

from app import create_app
from app.conditional import conditional, content_read_at, content_tag
from app.services import comment_service, post_service
from tests.api_helpers import auth_headers
from tests.db_helpers import statements_of
from tests.web_helpers import sign_in

#: Tables a statement that also reads the ETag's version reads.
READ_WITH = {"posts", "users", "feed_counts"}
PUBLIC_URLS = ["/", "/?page=1", "/u/writer", "/api/v1/posts", "/api/v1/users/writer"]


@pytest.fixture
def post(make_user, make_post):
    """A published post by ``writer``."""
    return make_post(make_user("writer"), title="Hello")


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_anonymous_reads_carry_a_strong_etag_and_public_no_cache(client, post, url):
    response = client.get(url)
    assert response.status_code == 200
    tag, weak = response.get_etag()
    assert tag and not weak
    assert response.headers["Cache-Control"] == "public, no-cache"


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_if_none_match_with_the_current_tag_is_a_304_with_no_body(client, post, url):
    etag = client.get(url).headers["ETag"]
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag


def test_the_post_page_is_conditional_too(client, post):
    etag = client.get(f"/posts/{post.id}").headers["ETag"]
    assert client.get(f"/posts/{post.id}", headers={"If-None-Match": etag}).status_code == 304


def test_a_304_runs_no_page_query(app, client, post):
    etag = client.get("/").headers["ETag"]
    with statements_of(app) as statements:
        assert client.get("/", headers={"If-None-Match": etag}).status_code == 304
    reads = [s for s in statements if "audit_events" not in s and s.strip() != "SELECT 1"]
    assert reads == []
    assert len([s for s in statements if "audit_events" in s]) == 1


def test_each_url_has_its_own_tag(client, post):
    tags = {client.get(url).headers["ETag"] for url in PUBLIC_URLS}
    assert len(tags) == len(PUBLIC_URLS)


def test_a_stale_tag_gets_the_full_page(client, post):
    response = client.get("/", headers={"If-None-Match": '"c0-0000"'})
    assert response.status_code == 200
    assert b"Hello" in response.data


@pytest.mark.parametrize("change", ["create", "edit", "delete", "restore", "comment"])
def test_every_write_changes_the_tag_at_once_on_every_worker(
    make_settings, database_url, app, post, make_user, make_admin, change
):
    # Two apps on one database stand for two workers (or hosts): one writes, one reads.
    other = create_app(make_settings(database_url=database_url))
    reader = other.test_client()
    before = reader.get("/").headers["ETag"]
    admin = make_admin()
    with app.app_context():
        if change == "create":
            post_service.create_post(admin, "Another", "Body", "published")
        elif change == "edit":
            post_service.update_post(post.id, admin, title="Edited")
        elif change == "delete":
            post_service.delete_post(post.id, admin)
        elif change == "restore":
            post_service.delete_post(post.id, admin)
            before = reader.get("/").headers["ETag"]
            post_service.restore_post(post.id, admin)
        else:
            comment_service.add_comment(post.id, make_user(), "A comment")
    after = reader.get("/", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["ETag"] != before


def test_signed_in_pages_are_private_and_never_304(client, post, make_user):
    sign_in(client, make_user())
    response = client.get("/")
    assert response.headers["Cache-Control"] == "private"
    assert "ETag" not in response.headers
    assert client.get("/", headers={"If-None-Match": "*"}).status_code == 200


def test_api_clients_with_a_token_are_private(app, client, post, make_user):
    headers = auth_headers(app, make_user())
    response = client.get("/api/v1/posts", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private"
    assert "ETag" not in response.headers


def test_a_new_renderer_changes_every_tag(client, post, monkeypatch):
    """``flask posts rerender`` rewrites stored HTML without a write: the tag must move."""
    before = client.get("/").headers["ETag"]
    monkeypatch.setattr("app.conditional.RENDERER_VERSION", "a newer renderer")
    after = client.get("/")
    assert after.headers["ETag"] != before
    assert client.get("/", headers={"If-None-Match": before}).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        *PUBLIC_URLS,
        "/posts/{id}",
        "/api/v1/posts/{id}/comments",
        "/api/v1/posts?author=writer",
        "/api/v1/posts?author=nobody",
        "/api/v1/posts?skip=50",
        "/api/v1/posts?skip=1&limit=1",
    ],
)
def test_a_200_reads_its_etag_version_with_its_content(app, client, post, make_post, url):
    make_post(title="Second")  # two posts: a later page exists
    url = url.format(id=post.id)
    client.get(url)  # warm-up: connection set-up is not the request's cost
    with statements_of(app) as sent:
        response = client.get(url)
    assert response.status_code == 200
    assert response.get_etag()[0]
    # The version comes with the rows, the total or the author looked up, never on its own.
    alone = [s for s in sent if "audit_events" in s and not READ_WITH & set(s.split())]
    assert alone == [], sent
    assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_a_view_that_reports_no_version_answers_untagged(app):
    @conditional
    def untold() -> str:
        return "content read without its version"

    with app.test_request_context("/"):
        response = untold()
    assert response.status_code == 200
    assert response.get_etag() == (None, None)
    assert response.headers["Cache-Control"] == "public, no-cache"


def test_of_several_versions_a_view_reports_the_oldest_counts(app):
    @conditional
    def two_reads() -> str:
        content_read_at(7)
        content_read_at(5)
        content_read_at(None)
        return "content"

    with app.test_request_context("/"):
        response = two_reads()
        assert response.get_etag()[0] == content_tag(5)
