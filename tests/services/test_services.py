"""The service layer both the JSON API and the HTML pages call."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text, update
from werkzeug.exceptions import HTTPException

from app.models import Comment, Post, PostStatus, User, utcnow
from app.services import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    StaleVersion,
    audit_service,
    comment_service,
    feed_service,
    post_service,
    user_service,
)
from app.services.concurrency import etag_for, versions_from_if_match

# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("post", 1), 404),
        (Conflict("taken", field="username"), 409),
        (StaleVersion("post", 1), 409),
        (PreconditionFailed("post", 1), 412),
        (PermissionDenied(), 403),
    ],
)
def test_service_errors_are_http_errors_with_their_status(error, status):
    assert isinstance(error, HTTPException)
    assert error.code == status


def test_the_error_handler_answers_a_conflict_naming_the_field(app):
    from app.errors import handle_http_error

    with app.test_request_context("/api/v1/auth/register"):
        response = handle_http_error(Conflict("This username is already taken", "username"))
    body = response.get_json()
    assert response.status_code == 409
    assert body["message"] == "This username is already taken"
    assert body["details"] == [{"field": "username", "message": "This username is already taken"}]


# -- users ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "email", "field"),
    [
        ("ALICE", "other@example.com", "username"),
        ("other", "Alice@EXAMPLE.com", "email"),
    ],
)
def test_registration_conflicts_ignore_case(db, make_user, username, email, field):
    make_user("alice", email="alice@example.com")
    with pytest.raises(Conflict) as raised:
        user_service.register_user(username, email, "password-123")
    assert raised.value.field == field
    assert raised.value.details[0]["field"] == field


def test_registration_conflicts_with_a_soft_deleted_user(db, make_user):
    user = db.session.get(User, make_user("alice").id)
    user.soft_delete()
    db.session.commit()
    with pytest.raises(Conflict):
        user_service.register_user("alice", "new@example.com", "password-123")


def test_registration_hashes_the_password(db):
    user = user_service.register_user("alice", "alice@example.com", "password-123")
    assert user.password_hash != "password-123"
    assert user.password_hash.startswith("scrypt:")


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.com", "Alice@Example.com"])
def test_login_finds_a_user_by_username_or_email_ignoring_case(db, make_user, identifier):
    user = make_user("alice", email="alice@example.com")
    assert user_service.find_user_for_login(identifier).id == user.id


def test_login_ignores_inactive_users(db, make_user):
    make_user("alice", is_active=False)
    assert user_service.find_user_for_login("alice") is None


def test_authenticate_checks_the_password(db, make_user):
    make_user("alice", password="right-password")
    assert user_service.authenticate("alice", "right-password").username == "alice"
    assert user_service.authenticate("alice", "wrong-password") is None
    assert user_service.authenticate("nobody", "right-password") is None


def test_unknown_username_has_no_public_profile(db):
    with pytest.raises(NotFound):
        user_service.public_profile("nobody")


def test_create_admin_promotes_an_existing_user(db, make_user):
    user = make_user("alice")
    admin, created = user_service.create_admin("alice", "ignored@example.com", None)
    assert (admin.id, admin.is_admin, created) == (user.id, True, False)


# -- posts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Hello, World!", "hello-world"),
        ("  Crème brûlée à Paris ", "creme-brulee-a-paris"),
        ("!!!", "post"),
    ],
)
def test_slug_is_generated_from_the_title(db, make_user, title, slug):
    post = post_service.create_post(make_user(), title, "Body")
    assert post.slug == slug


def test_slugs_are_made_unique(db, make_user):
    author = make_user()
    slugs = [post_service.create_post(author, "Same title", "Body").slug for _ in range(3)]
    assert slugs == ["same-title", "same-title-2", "same-title-3"]


def test_slug_of_a_deleted_post_is_not_reused(db, make_user, make_post):
    author = make_user()
    post = make_post(author, title="Taken")
    post_service.delete_post(post.id, author)
    assert post_service.create_post(author, "Taken", "Body").slug == "taken-2"


def test_publishing_sets_published_at(db, make_user):
    post = post_service.create_post(make_user(), "Title", "Body", "published")
    assert post.status is PostStatus.PUBLISHED
    assert abs(post.published_at - utcnow()) < timedelta(minutes=1)


def test_a_draft_has_no_published_at(db, make_user):
    post = post_service.create_post(make_user(), "Title", "Body")
    assert post.status is PostStatus.DRAFT
    assert post.published_at is None


def test_publishing_a_draft_later_sets_published_at(db, make_user, make_post):
    author = make_user()
    post = make_post(author, status="draft")
    updated = post_service.update_post(post.id, author, status="published")
    assert updated.published_at is not None


def test_returning_to_draft_clears_published_at(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    updated = post_service.update_post(post.id, author, status="draft")
    assert updated.published_at is None


def test_changing_the_title_keeps_the_slug(db, make_user, make_post):
    author = make_user()
    post = make_post(author, title="First")
    assert post_service.update_post(post.id, author, title="Second").slug == "first"


def test_only_the_author_or_an_admin_may_edit(db, make_user, make_admin, make_post):
    post = make_post()
    with pytest.raises(PermissionDenied):
        post_service.update_post(post.id, make_user(), title="Hijack")
    assert post_service.update_post(post.id, make_admin(), title="Fixed").title == "Fixed"


def test_someone_elses_draft_is_not_found(db, make_user, make_post):
    draft = make_post(status="draft")
    with pytest.raises(NotFound):
        post_service.get_post(draft.id, make_user())
    with pytest.raises(NotFound):
        post_service.get_post(draft.id)


def test_a_draft_is_visible_to_its_author_and_admins(db, make_user, make_admin, make_post):
    author = make_user()
    draft = make_post(author, status="draft")
    assert post_service.get_post(draft.id, author).id == draft.id
    assert post_service.get_post(draft.id, make_admin()).id == draft.id


def test_a_stale_expected_version_fails_the_precondition(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    post_service.update_post(post.id, author, title="Second")
    with pytest.raises(PreconditionFailed):
        post_service.update_post(post.id, author, title="Lost", expected_version=post.version)
    assert post_service.get_post(post.id).title == "Second"


def test_the_current_expected_version_is_accepted(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    updated = post_service.update_post(post.id, author, title="New", expected_version=1)
    assert updated.version == 2


@contextmanager
def concurrent_write_before_flush(db, post_id: int):
    """Let another connection bump the post's version just before the service flushes."""
    session = db.session()
    done = []

    def write_first(_session, _context, _instances):
        """Before the service's first flush, commit a competing version bump."""
        if done:
            return
        done.append(True)
        with db.engine.connect() as other:
            other.execute(
                text("UPDATE posts SET version = version + 1 WHERE id = :id"), {"id": post_id}
            )
            other.commit()

    event.listen(session, "before_flush", write_first)
    try:
        yield
    finally:
        event.remove(session, "before_flush", write_first)
    assert done


def test_a_write_that_loses_a_race_is_a_stale_version_conflict(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    with concurrent_write_before_flush(db, post.id), pytest.raises(StaleVersion):
        post_service.update_post(post.id, author, title="Mine")


def test_a_race_lost_under_if_match_fails_the_precondition(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    with concurrent_write_before_flush(db, post.id), pytest.raises(PreconditionFailed):
        post_service.update_post(post.id, author, title="Mine", expected_version=1)


def test_delete_hides_the_post(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    post_service.delete_post(post.id, author)
    with pytest.raises(NotFound):
        post_service.get_post(post.id, author)


def test_only_the_author_or_an_admin_may_delete(db, make_user, make_post):
    post = make_post()
    with pytest.raises(PermissionDenied):
        post_service.delete_post(post.id, make_user())


def test_delete_honours_the_expected_version(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    with pytest.raises(PreconditionFailed):
        post_service.delete_post(post.id, author, expected_version=7)


def test_only_admins_restore(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    post_service.delete_post(post.id, author)
    with pytest.raises(PermissionDenied):
        post_service.restore_post(post.id, author)


def test_restoring_a_live_post_is_a_conflict(db, make_admin, make_post):
    with pytest.raises(Conflict):
        post_service.restore_post(make_post().id, make_admin())


def test_restored_post_is_visible_again(db, make_user, make_admin, make_post):
    author = make_user()
    post = make_post(author)
    post_service.delete_post(post.id, author)
    post_service.restore_post(post.id, make_admin())
    assert post_service.get_post(post.id).id == post.id


# -- lists ---------------------------------------------------------------------------------


def set_published_at(db, post_id: int, minutes_ago: int) -> None:
    """Backdate a post's publication."""
    db.session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(published_at=utcnow() - timedelta(minutes=minutes_ago))
    )
    db.session.commit()


def test_feed_lists_published_posts_newest_first(db, make_user, make_post):
    author = make_user()
    old, new, middle = (make_post(author) for _ in range(3))
    set_published_at(db, old.id, 30)
    set_published_at(db, middle.id, 20)
    set_published_at(db, new.id, 10)
    make_post(author, status="draft")
    page = feed_service.list_published_posts()
    assert [post.id for post in page.items] == [new.id, middle.id, old.id]
    assert page.total == 3


def test_feed_breaks_ties_by_newest_id(db, make_user, make_post):
    author = make_user()
    first, second = make_post(author), make_post(author)
    db.session.execute(update(Post).values(published_at=utcnow()))
    db.session.commit()
    assert [post.id for post in feed_service.list_published_posts().items] == [
        second.id,
        first.id,
    ]


def test_feed_pages_with_skip_and_limit_and_an_exact_total(db, make_user, make_post):
    author = make_user()
    ids = [make_post(author).id for _ in range(5)]
    page = feed_service.list_published_posts(skip=1, limit=2)
    assert [post.id for post in page.items] == [ids[3], ids[2]]
    assert (page.total, page.skip, page.limit, page.has_next, page.has_prev) == (
        5,
        1,
        2,
        True,
        True,
    )


def test_feed_excludes_deleted_posts(db, make_user, make_post):
    author = make_user()
    kept, gone = make_post(author), make_post(author)
    post_service.delete_post(gone.id, author)
    page = feed_service.list_published_posts()
    assert [post.id for post in page.items] == [kept.id]
    assert page.total == 1


def test_feed_filters_by_author_ignoring_case(db, make_user, make_post):
    alice = make_user("alice")
    make_post(make_user("bob"))
    mine = make_post(alice)
    page = feed_service.list_published_posts(author_username="ALICE")
    assert [post.id for post in page.items] == [mine.id]


def test_feed_of_an_unknown_author_is_empty(db, make_post):
    make_post()
    assert feed_service.list_published_posts(author_username="nobody").total == 0


def count_queries(db):
    """A list that collects every SQL statement run while it is attached."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        """Remember one SQL statement."""
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(db.engine, "before_cursor_execute", record)


def test_feed_loads_authors_without_extra_queries(db, make_user, make_post):
    for _ in range(4):
        make_post(make_user())
    db.session.expunge_all()
    statements, stop = count_queries(db)
    try:
        page = feed_service.list_published_posts()
        names = [post.byline.username for post in page.items]
    finally:
        stop()
    assert len(names) == 4
    assert len(statements) == 1  # the page with its total, authors joined in


def test_user_posts_include_drafts_only_when_asked(db, make_user, make_post):
    author = make_user()
    published = make_post(author)
    draft = make_post(author, status="draft")
    public = feed_service.list_user_posts(author.id)
    own = feed_service.list_user_posts(author.id, include_drafts=True)
    assert [post.id for post in public.items] == [published.id]
    assert [post.id for post in own.items] == [draft.id, published.id]


def test_deleted_posts_are_listed_for_admins(db, make_user, make_admin, make_post):
    author = make_user()
    post = make_post(author)
    make_post(author)
    post_service.delete_post(post.id, author)
    page = feed_service.list_deleted_posts(make_admin())
    assert [item.id for item in page.items] == [post.id]
    assert page.items[0].author.id == author.id


def test_deleted_posts_are_not_listed_for_authors(db, make_user):
    with pytest.raises(PermissionDenied):
        feed_service.list_deleted_posts(make_user())


# -- comments ------------------------------------------------------------------------------


def test_comments_are_listed_oldest_first(db, make_user, make_post, make_comment):
    post = make_post()
    first, second = make_comment(post), make_comment(post)
    page = comment_service.list_post_comments(post.id)
    assert [comment.id for comment in page.items] == [first.id, second.id]
    assert page.total == 2


def test_comments_load_authors_without_extra_queries(db, make_post, make_comment):
    post = make_post()
    for _ in range(3):
        make_comment(post)
    db.session.expunge_all()
    statements, stop = count_queries(db)
    try:
        names = [c.author.username for c in comment_service.list_post_comments(post.id).items]
    finally:
        stop()
    assert len(names) == 3
    assert len(statements) == 1  # the post, the page and its total


def test_comments_of_an_invisible_post_are_not_found(db, make_post, make_user):
    draft = make_post(status="draft")
    with pytest.raises(NotFound):
        comment_service.list_post_comments(draft.id)
    with pytest.raises(NotFound):
        comment_service.add_comment(draft.id, make_user(), "Hi")


def test_adding_a_comment_stamps_its_author(db, make_user, make_post):
    author = make_user()
    comment = comment_service.add_comment(make_post().id, author, "Nice")
    assert (comment.author_id, comment.added_by, comment.version) == (author.id, author.id, 1)


@pytest.mark.parametrize("who", ["comment_author", "post_author", "admin"])
def test_comment_may_be_deleted_by(db, make_user, make_admin, make_post, make_comment, who):
    post_author, comment_author = make_user(), make_user()
    comment = make_comment(make_post(post_author), comment_author)
    actor = {
        "comment_author": comment_author,
        "post_author": post_author,
        "admin": make_admin(),
    }[who]
    comment_service.delete_comment(comment.id, actor)
    with pytest.raises(NotFound):
        comment_service.get_comment(comment.id)


def test_a_stranger_may_not_delete_a_comment(db, make_user, make_comment):
    comment = make_comment()
    with pytest.raises(PermissionDenied):
        comment_service.delete_comment(comment.id, make_user())


def test_comment_delete_honours_the_expected_version(db, make_comment):
    comment = make_comment()
    with pytest.raises(PreconditionFailed):
        comment_service.delete_comment(comment.id, comment.author, expected_version=5)


def test_admins_restore_comments(db, make_admin, make_comment):
    comment = make_comment()
    comment_service.delete_comment(comment.id, comment.author)
    admin = make_admin()
    assert [c.id for c in comment_service.list_deleted_comments(admin).items] == [comment.id]
    comment_service.restore_comment(comment.id, admin)
    assert comment_service.get_comment(comment.id).id == comment.id


def test_deleting_a_post_hides_its_comments(db, make_user, make_post, make_comment):
    author = make_user()
    post = make_post(author)
    comment = make_comment(post)
    post_service.delete_post(post.id, author)
    with pytest.raises(NotFound):
        comment_service.get_comment(comment.id)
    assert db.session.scalars(select(Comment)).all() == []


# -- audit ---------------------------------------------------------------------------------


def test_audit_events_are_listed_newest_first(db, make_admin, make_post):
    make_post()
    page = audit_service.list_audit_events(make_admin())
    ids = [event.id for event in page.items]
    assert ids == sorted(ids, reverse=True)
    assert page.total == len(ids)


@pytest.mark.parametrize("field", ["entity_type", "entity_id", "actor_id"])
def test_audit_events_filter(db, make_user, make_admin, make_post, field):
    author = make_user()
    post = make_post(author)
    admin = make_admin()
    filters = {"entity_type": "post", "entity_id": post.id, "actor_id": author.id}
    page = audit_service.list_audit_events(admin, **{field: filters[field]})
    assert page.items
    assert all(getattr(event, field) == filters[field] for event in page.items)


def test_audit_events_are_for_admins_only(db, make_user):
    with pytest.raises(PermissionDenied):
        audit_service.list_audit_events(make_user())


def test_post_history_is_for_its_author(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    post_service.update_post(post.id, author, title="Changed")
    history = post_service.post_history(post.id, author)
    assert [event.action for event in history.items] == ["update", "create"]
    with pytest.raises(PermissionDenied):
        post_service.post_history(post.id, make_user())


def test_admins_see_the_history_of_a_deleted_post(db, make_user, make_admin, make_post):
    author = make_user()
    post = make_post(author)
    post_service.delete_post(post.id, author)
    history = post_service.post_history(post.id, make_admin())
    assert history.items[0].action == "delete"


# -- If-Match ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("*", None),
        ('"post-7-v3"', {3}),
        ('"post-7-v3", "post-7-v4"', {3, 4}),
        ('W/"post-7-v3"', set()),
        ('"post-8-v3"', set()),
        ('"comment-7-v3"', set()),
        ("garbage", set()),
    ],
)
def test_if_match_headers_become_expected_versions(header, expected):
    assert versions_from_if_match(header, "post", 7) == expected


def test_an_etag_round_trips_through_if_match(db, make_user, make_post):
    author = make_user()
    post = make_post(author)
    expected = versions_from_if_match(etag_for(post), "post", post.id)
    assert post_service.update_post(post.id, author, title="OK", expected_version=expected)
