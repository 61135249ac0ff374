"""Pages with content of a deleted author: "deleted user" without a link, never a 500."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import User
from app.services import comment_service, post_service, user_admin_service
from tests.web_helpers import BROWSER, page_text, sign_in


@pytest.fixture
def admin(make_admin):
    """An admin."""
    return make_admin("boss")


@pytest.fixture
def gone(app, admin, make_user, make_post, make_comment):
    """A deleted author's published post (with their comment), and a deleted post of theirs."""
    author = make_user("vanished")
    post = make_post(author, title="Left behind")
    make_comment(post, author, body="Words of the departed.")
    binned = make_post(author, title="Binned too")
    with app.app_context():
        acting = db.session.get(User, admin.id)
        post_service.delete_post(binned.id, acting)
        comment = comment_service.add_comment(post.id, db.session.get(User, author.id), "Gone.")
        comment_service.delete_comment(comment.id, db.session.get(User, admin.id))
        user_admin_service.delete_user(author.id, db.session.get(User, admin.id))
    return {"author": author, "post": post}


def test_the_home_page_shows_deleted_user_without_a_link(client, gone):
    text = page_text(client.get("/", headers=BROWSER))
    assert "Left behind" in text
    assert "deleted user" in text
    assert 'href="/u/"' not in text
    assert "vanished" not in text
    assert "2 posts" not in text and "1 post" in text


def test_the_post_page_and_its_comments_show_deleted_user(client, gone):
    response = client.get(f"/posts/{gone['post'].id}", headers=BROWSER)
    assert response.status_code == 200
    text = page_text(response)
    assert text.count("deleted user") == 2  # the byline and the comment
    assert "vanished" not in text


def test_the_deleted_authors_page_is_404(client, gone):
    assert client.get("/u/vanished", headers=BROWSER).status_code == 404


@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/users?status=deleted", "/admin/deleted", "/admin/audit"]
)
def test_admin_pages_answer(client, admin, gone, path):
    sign_in(client, admin)
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 200


def test_the_deleted_records_page_shows_deleted_user(client, admin, gone):
    sign_in(client, admin)
    text = page_text(client.get("/admin/deleted", headers=BROWSER))
    assert "Binned too" in text
    assert 'by <span class="deleted-user">deleted user</span>' in text


def test_an_admin_edits_the_post_through_the_page(client, admin, gone):
    sign_in(client, admin)
    response = client.get(f"/posts/{gone['post'].id}/edit", headers=BROWSER)
    assert response.status_code == 200


def test_restoring_the_account_brings_the_name_back(app, client, admin, gone):
    with app.app_context():
        user_admin_service.restore_user(gone["author"].id, db.session.get(User, admin.id))
    text = page_text(client.get("/", headers=BROWSER))
    assert '<a href="/u/vanished">vanished</a>' in text
    assert client.get("/u/vanished", headers=BROWSER).status_code == 200


def test_a_deactivated_author_is_shown_as_usual(app, client, admin, make_user, make_post):
    author = make_user("resting")
    make_post(author, title="Still signed")
    with app.app_context():
        user_admin_service.update_user(author.id, db.session.get(User, admin.id), is_active=False)
    assert '<a href="/u/resting">resting</a>' in page_text(client.get("/", headers=BROWSER))
    assert client.get("/u/resting", headers=BROWSER).status_code == 200
