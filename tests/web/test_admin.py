"""Admin pages: the audit trail and restoring soft-deleted records."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models import INCLUDE_DELETED, Comment, Post
from app.services import comment_service, post_service
from app.web.admin import EVENTS_PER_PAGE
from tests.web_helpers import BROWSER, field_error, page_text, sign_in, submit

ADMIN_PAGES = ["/admin/audit", "/admin/deleted"]


def delete_post(app, post, actor):
    """Soft-delete ``post`` through the services as ``actor``."""
    with app.app_context():
        post_service.delete_post(post.id, actor)


def delete_comment(app, comment, actor):
    """Soft-delete ``comment`` through the services as ``actor``."""
    with app.app_context():
        comment_service.delete_comment(comment.id, actor)


def audit_rows(response) -> list[tuple[str, str]]:
    """(action, entity) of each event listed on the audit page, in order."""
    return re.findall(
        r'<span class="badge badge-\w+">(\w+)</span>\s*<strong>(\w+ #\d+)</strong>',
        page_text(response),
    )


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_send_anonymous_visitors_to_login(client, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_are_forbidden_to_other_users(client, make_user, path):
    sign_in(client, make_user())
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 403
    assert response.headers["X-Request-ID"] in page_text(response)


@pytest.mark.parametrize("path", ["/admin/posts/1/restore", "/admin/comments/1/restore"])
def test_restoring_is_forbidden_to_other_users(client, make_user, path):
    sign_in(client, make_user())
    assert submit(client, "/", path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_open_for_admins(client, make_admin, path):
    sign_in(client, make_admin())
    assert client.get(path).status_code == 200


def test_admins_see_admin_links_in_the_header(client, make_admin):
    sign_in(client, make_admin())
    html = page_text(client.get("/"))
    assert 'href="/admin/audit"' in html
    assert 'href="/admin/deleted"' in html


def test_other_users_see_no_admin_links(client, make_user):
    sign_in(client, make_user())
    assert "/admin/" not in page_text(client.get("/"))


def test_audit_page_lists_events_newest_first(client, make_admin, make_post):
    admin = make_admin("boss")
    post = make_post()
    sign_in(client, admin)
    rows = audit_rows(client.get("/admin/audit"))
    assert rows[0] == ("create", f"post #{post.id}")
    assert ("create", f"user #{post.author_id}") in rows


def test_audit_page_shows_changes_old_to_new(app, client, make_admin, make_user, make_post):
    author = make_user("writer")
    post = make_post(author, title="Old title")
    with app.app_context():
        post_service.update_post(post.id, author, title="New title")
    sign_in(client, make_admin())
    html = page_text(client.get(f"/admin/audit?entity_type=post&entity_id={post.id}"))
    assert re.search(
        r'<th scope="row">title</th>\s*<td class="old">Old title</td>\s*'
        r'<td class="arrow" aria-label="becomes">→</td>\s*<td class="new">New title</td>',
        html,
    )
    assert f"by writer (#{author.id})" in html


def test_audit_page_masks_password_hashes(client, make_admin, make_user):
    user = make_user()
    sign_in(client, make_admin())
    html = page_text(client.get(f"/admin/audit?entity_type=user&entity_id={user.id}"))
    assert "scrypt:" not in html
    assert '<td class="new">***</td>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("entity_type=comment", {("create", "comment #1")}),
        ("entity_type=post&entity_id=1", {("create", "post #1"), ("delete", "post #1")}),
        ("entity_id=2&entity_type=post", {("create", "post #2")}),
    ],
)
def test_audit_page_filters_by_entity(
    app, client, make_admin, make_user, make_post, make_comment, query, expected
):
    author = make_user()
    first = make_post(author)
    make_post(author)
    make_comment(first)
    delete_post(app, first, author)
    sign_in(client, make_admin())
    assert set(audit_rows(client.get(f"/admin/audit?{query}"))) == expected


def test_audit_page_filters_by_actor(client, make_admin, make_user, make_post):
    alice, bob = make_user("alice"), make_user("bob")
    make_post(alice)
    bobs = make_post(bob)
    sign_in(client, make_admin())
    rows = audit_rows(client.get(f"/admin/audit?actor={bob.id}"))
    assert set(rows) == {("create", f"user #{bob.id}"), ("create", f"post #{bobs.id}")}


def test_audit_filters_stay_in_the_form_and_page_links(app, client, make_admin, make_user):
    author = make_user()
    with app.app_context():
        for number in range(EVENTS_PER_PAGE + 1):
            post_service.create_post(author, f"post {number}", "body", "draft")
    sign_in(client, make_admin())
    response = client.get("/admin/audit?entity_type=post")
    html = page_text(response)
    assert '<option value="post" selected>' in html
    assert 'href="/admin/audit?entity_type=post&amp;page=2"' in html
    assert len(audit_rows(client.get("/admin/audit?entity_type=post&page=2"))) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("entity_type=invoice", "entity_type"),
        ("entity_id=abc", "entity_id"),
        ("entity_id=0", "entity_id"),
        ("entity_id=1.5", "entity_id"),
        ("actor=-1", "actor"),
        ("actor=99999999999999999999999", "actor"),
    ],
)
def test_bad_audit_filters_are_explained_next_to_the_field(client, make_admin, query, field):
    sign_in(client, make_admin())
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 422
    assert field_error(response, field)


@pytest.mark.parametrize("page", ["0", "abc", "2"])
def test_bad_audit_pages_are_not_found(client, make_admin, page):
    sign_in(client, make_admin())
    assert client.get(f"/admin/audit?page={page}", headers=BROWSER).status_code == 404


def test_deleted_page_lists_deleted_posts_and_comments(
    app, client, make_admin, make_user, make_post, make_comment
):
    author = make_user("writer")
    gone = make_post(author, title="Gone post")
    make_post(author, title="Live post")
    comment = make_comment(make_post(author), body="Gone comment")
    delete_post(app, gone, author)
    delete_comment(app, comment, author)
    sign_in(client, make_admin())
    html = page_text(client.get("/admin/deleted"))
    assert "Gone post" in html
    assert "Live post" not in html
    assert "Gone comment" in html
    assert f'action="/admin/posts/{gone.id}/restore"' in html
    assert f'action="/admin/comments/{comment.id}/restore"' in html
    assert f"by writer (#{author.id})" in html


def test_restoring_a_post_brings_it_back_and_audits(app, client, make_admin, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Back again")
    delete_post(app, post, author)
    admin = make_admin()
    sign_in(client, admin)
    response = submit(client, "/admin/deleted", f"/admin/posts/{post.id}/restore")
    assert response.headers["Location"] == "/admin/deleted"
    assert "Back again" in page_text(client.get("/"))
    rows = audit_rows(client.get(f"/admin/audit?entity_type=post&entity_id={post.id}"))
    assert rows[0] == ("restore", f"post #{post.id}")
    from app.extensions import db

    with app.app_context():
        assert db.session.get(Post, post.id).updated_by == admin.id


def test_restoring_a_comment_brings_it_back(
    app, client, make_admin, make_user, make_post, make_comment
):
    author = make_user()
    post = make_post(author)
    comment = make_comment(post, body="Returning comment")
    delete_comment(app, comment, author)
    sign_in(client, make_admin())
    submit(client, "/admin/deleted", f"/admin/comments/{comment.id}/restore")
    assert "Returning comment" in page_text(client.get(f"/posts/{post.id}"))
    from app.extensions import db

    with app.app_context():
        stored = db.session.scalar(
            select(Comment)
            .where(Comment.id == comment.id)
            .execution_options(**{INCLUDE_DELETED: True})
        )
        assert stored.deleted_at is None


def test_restoring_a_live_post_says_it_is_not_deleted(client, make_admin, make_post):
    post = make_post()
    sign_in(client, make_admin())
    response = submit(client, "/admin/deleted", f"/admin/posts/{post.id}/restore")
    assert response.status_code == 302
    assert f"Post {post.id} is not deleted" in page_text(client.get("/admin/deleted"))


@pytest.mark.parametrize("path", ["/admin/posts/999/restore", "/admin/comments/999/restore"])
def test_restoring_unknown_records_is_not_found(client, make_admin, path):
    sign_in(client, make_admin())
    assert submit(client, "/admin/deleted", path).status_code == 404


@pytest.mark.parametrize("query", ["page=0", "page=2", "comments_page=abc", "comments_page=2"])
def test_bad_deleted_pages_are_not_found(client, make_admin, query):
    sign_in(client, make_admin())
    assert client.get(f"/admin/deleted?{query}", headers=BROWSER).status_code == 404
