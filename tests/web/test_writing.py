"""Writing pages: new, edit and delete posts, comments, and who may do what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models import INCLUDE_DELETED, AuditEvent, Comment, Post
from tests.web_helpers import (
    BROWSER,
    checked_value,
    field_error,
    field_value,
    page_text,
    sign_in,
    submit,
)

GOOD_POST = {"title": "A fine title", "body": "Some **Markdown**.", "status": "published"}


def load_post(app, post_id: int) -> Post:
    """The post row as stored, deleted or not."""
    from app.extensions import db

    with app.app_context():
        post = db.session.scalar(
            select(Post).where(Post.id == post_id).execution_options(**{INCLUDE_DELETED: True})
        )
        db.session.expunge_all()
        return post


def events_for(app, entity_type: str, entity_id: int) -> list[AuditEvent]:
    """The audit events of one record, oldest first."""
    from app.extensions import db

    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(events)


def new_post(client, **changes):
    """Fill in the new-post form."""
    return submit(client, "/posts/new", "/posts/new", {**GOOD_POST, **changes})


def created_id(response) -> int:
    """The id of the post a successful form redirected to."""
    assert response.status_code == 302, page_text(response)
    return int(re.fullmatch(r"/posts/(\d+)", response.headers["Location"]).group(1))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/posts/new"),
        ("post", "/posts/new"),
        ("get", "/posts/{id}/edit"),
        ("post", "/posts/{id}/edit"),
        ("get", "/posts/{id}/delete"),
        ("post", "/posts/{id}/delete"),
        ("post", "/posts/{id}/comments"),
    ],
)
def test_writing_pages_send_anonymous_visitors_to_login(app, client, make_post, method, path):
    app.config["WTF_CSRF_ENABLED"] = False
    post = make_post()
    response = getattr(client, method)(path.format(id=post.id), headers=BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_redirect_remembers_the_page(client):
    response = client.get("/posts/new", headers=BROWSER)
    assert response.headers["Location"] == "/login?next=/posts/new"


def test_new_post_form_is_labelled_and_defaults_to_draft(client, make_user):
    sign_in(client, make_user())
    response = client.get("/posts/new")
    html = page_text(response)
    assert response.status_code == 200
    assert '<label for="title">Title</label>' in html
    assert '<label for="body">Body</label>' in html
    assert checked_value(response, "status") == "draft"


@pytest.mark.parametrize("status", ["draft", "published"])
def test_creating_a_post_stores_it_with_the_chosen_status(app, client, make_user, status):
    author = make_user()
    sign_in(client, author)
    post = load_post(app, created_id(new_post(client, status=status)))
    assert (post.title, post.body, post.status.value) == ("A fine title", GOOD_POST["body"], status)
    assert post.author_id == author.id


def test_a_published_post_appears_on_the_home_page(client, make_user):
    sign_in(client, make_user())
    new_post(client, title="Fresh off the press")
    assert "Fresh off the press" in page_text(client.get("/"))


def test_creating_a_post_is_stamped_and_audited_like_the_api(app, client, make_user):
    author = make_user()
    sign_in(client, author)
    response = new_post(client)
    post = load_post(app, created_id(response))
    (event,) = events_for(app, "post", post.id)
    assert (post.added_by, post.updated_by) == (author.id, author.id)
    assert (event.action, event.actor_id) == ("create", author.id)
    assert event.request_id == response.headers["X-Request-ID"]
    assert event.changes["title"] == {"old": None, "new": "A fine title"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Please fill this in"),
        ({"title": "   "}, "title", "Please fill this in"),
        ({"title": "x" * 201}, "title", "Must be at most 200 characters"),
        ({"body": ""}, "body", "Please fill this in"),
        ({"body": "x" * 100_001}, "body", "Must be at most 100000 characters"),
        ({"status": "secret"}, "status", "'draft' or 'published'"),
    ],
)
def test_post_errors_are_shown_next_to_the_field(client, make_user, changes, field, message):
    sign_in(client, make_user())
    response = new_post(client, **changes)
    assert response.status_code == 422
    assert message in field_error(response, field)


def test_post_errors_keep_everything_typed(client, make_user):
    sign_in(client, make_user())
    body = "Long text with <b>markup</b> & ampersands\nand a second line"
    response = new_post(client, title="", body=body, status="published")
    assert field_value(response, "title") == ""
    assert field_value(response, "body") == body
    assert checked_value(response, "status") == "published"


def test_invalid_post_creates_nothing(app, client, make_user):
    sign_in(client, make_user())
    new_post(client, title="")
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(select(Post)) is None


def test_edit_form_is_filled_with_the_post(client, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Original", body="Original body", status="draft")
    sign_in(client, author)
    response = client.get(f"/posts/{post.id}/edit")
    assert field_value(response, "title") == "Original"
    assert field_value(response, "body") == "Original body"
    assert checked_value(response, "status") == "draft"


def test_editing_changes_the_post_and_audits_old_and_new(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Before")
    sign_in(client, author)
    page = f"/posts/{post.id}/edit"
    response = submit(client, page, page, {**GOOD_POST, "title": "After", "version": "1"})
    assert response.headers["Location"] == f"/posts/{post.id}"
    assert load_post(app, post.id).title == "After"
    update = events_for(app, "post", post.id)[-1]
    assert update.action == "update"
    assert update.actor_id == author.id
    assert update.changes["title"] == {"old": "Before", "new": "After"}


def test_unpublishing_makes_a_post_a_draft_again(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    sign_in(client, author)
    page = f"/posts/{post.id}/edit"
    submit(client, page, page, {**GOOD_POST, "status": "draft", "version": "1"})
    stored = load_post(app, post.id)
    assert stored.status.value == "draft"
    assert stored.published_at is None


def test_edit_errors_keep_everything_typed(client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    sign_in(client, author)
    page = f"/posts/{post.id}/edit"
    response = submit(client, page, page, {"title": "", "body": "new words", "status": "draft"})
    assert response.status_code == 422
    assert field_error(response, "title") == "Please fill this in"
    assert field_value(response, "body") == "new words"
    assert checked_value(response, "status") == "draft"


def test_editing_a_post_changed_meanwhile_keeps_the_text_and_warns(
    app, client, make_user, make_post
):
    author = make_user()
    post = make_post(author, title="Original")
    sign_in(client, author)
    page = f"/posts/{post.id}/edit"
    submit(client, page, page, {**GOOD_POST, "title": "First save", "version": "1"})
    response = submit(client, page, page, {**GOOD_POST, "title": "Stale save", "version": "1"})
    assert response.status_code == 409
    assert "changed by someone else" in page_text(response)
    assert field_value(response, "title") == "Stale save"
    assert load_post(app, post.id).title == "First save"
    assert field_value(response, "version") == "2"


def test_other_users_cannot_edit_a_post(client, make_user, make_post):
    post = make_post()
    sign_in(client, make_user())
    page = f"/posts/{post.id}/edit"
    assert client.get(page, headers=BROWSER).status_code == 403
    response = submit(client, f"/posts/{post.id}", page, {**GOOD_POST, "title": "Hijacked"})
    assert response.status_code == 403


def test_other_users_see_no_edit_buttons(client, make_user, make_post):
    post = make_post()
    sign_in(client, make_user())
    assert f"/posts/{post.id}/edit" not in page_text(client.get(f"/posts/{post.id}"))


def test_admins_can_edit_any_post_and_are_the_audited_actor(
    app, client, make_user, make_admin, make_post
):
    post = make_post(make_user(), title="By an author")
    admin = make_admin()
    sign_in(client, admin)
    page = f"/posts/{post.id}/edit"
    submit(client, page, page, {**GOOD_POST, "title": "Fixed by admin", "version": "1"})
    stored = load_post(app, post.id)
    assert stored.title == "Fixed by admin"
    assert stored.updated_by == admin.id
    assert events_for(app, "post", post.id)[-1].actor_id == admin.id


def test_delete_asks_for_confirmation_first(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    sign_in(client, author)
    response = client.get(f"/posts/{post.id}/delete")
    assert response.status_code == 200
    assert f'action="/posts/{post.id}/delete"' in page_text(response)
    assert load_post(app, post.id).deleted_at is None


def test_deleting_soft_deletes_and_audits(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    sign_in(client, author)
    page = f"/posts/{post.id}/delete"
    response = submit(client, page, page)
    assert response.headers["Location"] == "/"
    stored = load_post(app, post.id)
    assert stored.deleted_at is not None
    assert stored.deleted_by == author.id
    assert events_for(app, "post", post.id)[-1].action == "delete"


def test_other_users_cannot_delete_a_post(app, client, make_user, make_post):
    post = make_post()
    sign_in(client, make_user())
    page = f"/posts/{post.id}/delete"
    assert client.get(page, headers=BROWSER).status_code == 403
    assert submit(client, f"/posts/{post.id}", page).status_code == 403
    assert load_post(app, post.id).deleted_at is None


def test_admins_can_delete_any_post(app, client, make_admin, make_post):
    post = make_post()
    sign_in(client, make_admin())
    page = f"/posts/{post.id}/delete"
    submit(client, page, page)
    assert load_post(app, post.id).deleted_at is not None


def test_commenting_adds_the_comment_and_returns_to_it(app, client, make_user, make_post):
    post, reader = make_post(), make_user()
    sign_in(client, reader)
    page = f"/posts/{post.id}"
    response = submit(client, page, f"{page}/comments", {"body": "Well said, *really*."})
    assert response.status_code == 302
    assert re.fullmatch(rf"/posts/{post.id}#comment-\d+", response.headers["Location"])
    assert "Well said, <em>really</em>." in page_text(client.get(page))
    from app.extensions import db

    with app.app_context():
        comment = db.session.scalar(select(Comment))
        assert (comment.author_id, comment.added_by) == (reader.id, reader.id)


def test_comment_errors_keep_the_text(client, make_user, make_post):
    post = make_post()
    sign_in(client, make_user())
    page = f"/posts/{post.id}"
    too_long = "y" * 5001
    response = submit(client, page, f"{page}/comments", {"body": too_long})
    assert response.status_code == 422
    assert field_error(response, "body") == "Must be at most 5000 characters"
    assert field_value(response, "body") == too_long


def test_comments_on_drafts_of_others_are_not_found(client, make_user, make_post):
    post = make_post(status="draft")
    sign_in(client, make_user())
    response = submit(client, "/", f"/posts/{post.id}/comments", {"body": "hello"})
    assert response.status_code == 404


@pytest.mark.parametrize("version", ["1" * 30, "-1", "0", "abc", "\u0661", ""])
def test_a_bad_edit_form_version_is_a_form_error_and_saves_nothing(
    app, client, make_user, make_post, version
):
    author = make_user()
    post = make_post(author, title="Original")
    sign_in(client, author)
    page = f"/posts/{post.id}/edit"
    response = submit(client, page, page, {**GOOD_POST, "title": "Sneaky", "version": version})
    assert response.status_code == 422
    assert "does not say which version" in page_text(response)
    assert load_post(app, post.id).title == "Original"


def test_an_edit_form_without_its_version_saves_nothing(app, client, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Original")
    sign_in(client, author)
    page = f"/posts/{post.id}/edit"
    response = submit(client, page, page, {**GOOD_POST, "title": "Sneaky"})
    assert response.status_code == 422
    assert load_post(app, post.id).title == "Original"
