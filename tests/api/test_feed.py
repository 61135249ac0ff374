"""The API's feed read: plain rows rendered exactly as PostResponse, soft deletes explicit."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, update

from app.extensions import db as _db
from app.models import Post, User
from tests.api_helpers import assert_success, auth_headers

POSTS = "/api/v1/posts"


def feed(client, query: str = "", headers: dict[str, str] | None = None) -> tuple[list, int]:
    """The ids of one page of the feed and its total."""
    response = client.get(f"{POSTS}?{query}", headers=headers or {})
    data = assert_success(response)
    return [post["id"] for post in data], response.get_json()["pagination"]["total"]


def orm_feed(db, author_username: str | None = None) -> list[int]:
    """The whole feed's ids, newest first, read through the ORM and its soft-delete hook."""
    from app.services import feed_service

    return [post.id for post in feed_service.list_published_posts(0, 100, author_username).items]


@contextmanager
def database_activity(db, app=None):
    """Count connection checkouts and SQL statements inside the block.

    ``kinds`` names each statement: "feed" for a read of posts, "version" for a read of
    the newest audit event alone (the ETag's, when it is not read with the posts), else
    "other".
    """
    if app is not None:
        with app.app_context():
            engine = db.engine
    else:
        engine = db.engine
    activity = {"checkouts": 0, "statements": 0, "kinds": []}

    def checkout(*_args) -> None:
        activity["checkouts"] += 1

    def statement(_conn, _cursor, sql, *_args) -> None:
        activity["statements"] += 1
        kind = "feed" if "posts" in sql else "version" if "audit_events" in sql else "other"
        activity["kinds"].append(kind)

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield activity
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine, "before_cursor_execute", statement)


def test_feed_items_are_exactly_what_post_response_renders(app, db, client, make_user, make_post):
    """Same keys in the same order, same values and formats as the pydantic model."""
    from app.schemas import PostResponse

    author = make_user("renderer")
    plain = make_post(author, title="Crème brûlée ☕", body="Ünïcode *body*")
    whole_second = make_post(author, title="On the second")
    make_post(author, status="draft")
    db.session.execute(
        update(Post)
        .where(Post.id == whole_second.id)
        .values(published_at=datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC))
    )
    db.session.commit()
    data = assert_success(client.get(POSTS))
    db.session.expire_all()
    expected = [
        PostResponse.model_validate(db.session.get(Post, post_id)).to_json()
        for post_id in (plain.id, whole_second.id)
    ]
    assert data == expected
    assert [list(item) for item in data] == [list(item) for item in expected]
    assert [list(item["author"]) for item in data] == [["id", "username"]] * 2
    assert data[1]["published_at"] == "2024-05-01T12:00:00+00:00"


def test_soft_deleted_posts_are_absent_from_every_window_and_the_total(
    app, db, client, make_user, make_post
):
    """The first page (rows and total in one statement) and later windows (total first)."""
    author = make_user("keeper")
    first, gone, last = make_post(author), make_post(author), make_post(author)
    client.delete(f"{POSTS}/{gone.id}", headers=auth_headers(app, author))
    assert feed(client) == ([last.id, first.id], 2)
    assert feed(client, "skip=1&limit=1") == ([first.id], 2)
    assert feed(client, "author=keeper") == ([last.id, first.id], 2)
    assert feed(client, "author=keeper&skip=1") == ([first.id], 2)
    assert feed(client, "skip=5") == ([], 2)
    assert feed(client, f"skip={2**63 - 1}") == ([], 2)


def test_a_soft_deleted_author_filters_to_nothing(app, db, client, make_user, make_post):
    """As the ORM's look-up did: a deleted user is no author to filter by."""
    author = make_user("vanished")
    make_post(author)
    db.session.get(User, author.id).soft_delete()
    db.session.commit()
    assert feed(client, "author=vanished") == ([], 0)


def test_every_window_matches_the_orm_feed(app, db, client, make_user, make_post):
    """Windows past the middle (read from the far end on PostgreSQL) equal a plain slice."""
    author, other = make_user("windowed"), make_user()
    for number in range(7):
        make_post(author if number % 3 else other)
    make_post(author, status="draft")
    everyone, authors = orm_feed(db), orm_feed(db, "windowed")
    assert (len(everyone), len(authors)) == (7, 4)
    for skip in range(9):
        assert feed(client, f"skip={skip}&limit=3") == (everyone[skip : skip + 3], 7), skip
        assert feed(client, f"author=WINDOWED&skip={skip}&limit=2") == (
            authors[skip : skip + 2],
            4,
        ), skip


def test_the_first_page_is_one_statement_on_one_connection(app, client, make_post):
    """Rows, total and the ETag's version come together, on the request's only connection."""
    make_post()
    client.get(POSTS)  # warm-up: connecting is not the list's cost
    with app.app_context():
        database = _db
    with database_activity(database, app) as activity:
        assert feed(client)[1] == 1
    assert activity["checkouts"] == 1
    assert activity["kinds"] == ["feed"]


def test_a_read_inside_a_transaction_sees_its_uncommitted_writes(app, db, make_post):
    """Inside a transaction the feed reads on that transaction's connection, no other."""
    from app.models import PostStatus
    from app.services import feed_service

    post = make_post()
    db.session.execute(update(Post).values(status=PostStatus.DRAFT, published_at=None))
    with database_activity(db) as activity:
        assert feed_service.feed_page(0, 20).total == 0
    assert activity["checkouts"] == 0
    db.session.rollback()
    page = feed_service.feed_page(0, 20)
    assert ([row.id for row in page.items], page.total) == ([post.id], 1)
    assert db.session.scalar(select(Post.status).where(Post.id == post.id)) == PostStatus.PUBLISHED


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 5, 1, 12), "2024-05-01T12:00:00+00:00"),
        (
            datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=ZoneInfo("Etc/UTC")),
            "2024-05-01T12:00:00.000005+00:00",
        ),
        (datetime(2024, 5, 1, 12, tzinfo=UTC), "2024-05-01T12:00:00+00:00"),
        (
            datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T12:00:00+00:00",
        ),
        (datetime(2024, 7, 1, tzinfo=ZoneInfo("Europe/London")), "2024-06-30T23:00:00+00:00"),
    ],
)
def test_timestamps_are_rendered_in_utc_whatever_zone_they_come_in(moment, expected):
    from app.schemas.common import utc_isoformat

    assert utc_isoformat(moment) == expected
