"""Exact, cheap feed totals: ``feed_counts`` follows every write at once, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from app.models import Post, PostStatus
from app.services import feed_service
from tests.api_helpers import auth_headers


def api_total(client, author: str | None = None) -> int:
    """The ``total`` the posts list reports (optionally for one author)."""
    query = f"?author={author}" if author else ""
    response = client.get(f"/api/v1/posts{query}")
    assert response.status_code == 200
    return response.get_json()["pagination"]["total"]


def feed_total(author_id: int | None = None) -> int:
    """The total the services report for the whole feed or one author's published posts."""
    if author_id is None:
        return feed_service.list_published_posts(0, 1).total
    return feed_service.list_user_posts(author_id, 0, 1).total


def real_total(db, author_id: int | None = None) -> int:
    """A full COUNT(*) of live published posts, the truth the counters must match."""
    statement = select(func.count()).select_from(Post).where(Post.status == PostStatus.PUBLISHED)
    if author_id is not None:
        statement = statement.where(Post.author_id == author_id)
    return db.session.scalar(statement)


def test_creating_a_published_post_raises_the_total_at_once(app, client, make_user):
    """A 201 from POST /posts is reflected by the very next list."""
    author = make_user("writer")
    response = client.post(
        "/api/v1/posts",
        json={"title": "Fresh", "body": "News", "status": "published"},
        headers=auth_headers(app, author),
    )
    assert response.status_code == 201
    assert api_total(client) == 1
    assert api_total(client, "writer") == 1


def test_creating_a_draft_leaves_the_total(app, client, make_post):
    """Drafts are not in the feed, so they do not count."""
    make_post(status="draft")
    assert api_total(client) == 0


def test_publishing_a_draft_raises_the_total(app, client, make_post):
    """Publishing adds the post to the count."""
    post = make_post(status="draft")
    response = client.patch(
        f"/api/v1/posts/{post.id}",
        json={"status": "published"},
        headers=auth_headers(app, post.author),
    )
    assert response.status_code == 200
    assert api_total(client) == 1
    assert api_total(client, post.author.username) == 1


def test_unpublishing_lowers_the_total(app, client, make_post):
    """Returning a post to draft removes it from the count."""
    post = make_post()
    response = client.patch(
        f"/api/v1/posts/{post.id}", json={"status": "draft"}, headers=auth_headers(app, post.author)
    )
    assert response.status_code == 200
    assert api_total(client) == 0
    assert api_total(client, post.author.username) == 0


def test_deleting_lowers_the_total(app, client, make_post):
    """A soft delete removes the post from the count."""
    post, _other = make_post(), make_post()
    response = client.delete(f"/api/v1/posts/{post.id}", headers=auth_headers(app, post.author))
    assert response.status_code in (200, 204)
    assert api_total(client) == 1


def test_restoring_raises_the_total(app, client, make_post, make_admin):
    """Restoring a deleted post brings it back into the count."""
    post = make_post()
    admin = make_admin()
    headers = auth_headers(app, admin)
    assert client.delete(f"/api/v1/posts/{post.id}", headers=headers).status_code in (200, 204)
    assert api_total(client) == 0
    assert client.post(f"/api/v1/posts/{post.id}/restore", headers=headers).status_code == 200
    assert api_total(client) == 1
    assert api_total(client, post.author.username) == 1


def test_editing_a_title_leaves_the_total(app, client, make_post):
    """Changes that do not touch status or deletion do not move the count."""
    post = make_post()
    response = client.patch(
        f"/api/v1/posts/{post.id}",
        json={"title": "Renamed"},
        headers=auth_headers(app, post.author),
    )
    assert response.status_code == 200
    assert api_total(client) == 1


def test_a_rolled_back_write_leaves_the_total(app, db, make_post):
    """The counters change in the writer's transaction, so a rollback undoes them too."""

    make_post()
    db.session.execute(update(Post).values(status=PostStatus.DRAFT, published_at=None))
    assert feed_total() == 0
    db.session.rollback()
    assert feed_total() == 1


def test_bulk_updates_keep_the_total_exact(app, db, make_post):
    """One statement changing many rows moves the count by all of them."""

    for _ in range(3):
        make_post()
    db.session.execute(update(Post).values(status=PostStatus.DRAFT, published_at=None))
    db.session.commit()
    assert feed_total() == 0 == real_total(db)


def test_seeded_posts_are_counted(app, db):
    """Bulk inserts (COPY on PostgreSQL) keep the counts exact too."""
    from app.models import acting_as
    from app.models.base import SYSTEM_ACTOR_ID
    from app.seed import seed_demo_data

    with acting_as(SYSTEM_ACTOR_ID):
        report = seed_demo_data(db.session, posts=120, users=3, seed=7)
    assert feed_total() == real_total(db)
    for author_id in report_author_ids(db, report.usernames):
        assert feed_total(author_id) == real_total(db, author_id)


def report_author_ids(db, usernames) -> list[int]:
    """Ids of the seeded users."""
    from app.models import User

    return list(db.session.scalars(select(User.id).where(User.username.in_(usernames))))


@pytest.mark.parametrize("seed", [1, 2])
def test_total_equals_a_real_count_after_a_mixed_sequence(app, client, db, make_user, seed):
    """Creates, drafts, publishes, deletes and restores in a random order keep count == COUNT(*)."""
    import random

    rng = random.Random(seed)
    authors = [make_user(f"mixed{seed}x{n}", role="admin") for n in range(3)]
    live: list[tuple[int, object]] = []
    deleted: list[tuple[int, object]] = []
    for _ in range(40):
        author = rng.choice(authors)
        headers = auth_headers(app, author)
        action = rng.choice(["create", "create", "publish", "unpublish", "delete", "restore"])
        if action == "create" or not live:
            status = rng.choice(["draft", "published"])
            body = {"title": "Mixed", "body": "Body", "status": status}
            response = client.post("/api/v1/posts", json=body, headers=headers)
            assert response.status_code == 201
            live.append((response.get_json()["data"]["id"], author))
        elif action in ("publish", "unpublish"):
            post_id, _ = rng.choice(live)
            status = "published" if action == "publish" else "draft"
            response = client.patch(
                f"/api/v1/posts/{post_id}", json={"status": status}, headers=headers
            )
            assert response.status_code == 200
        elif action == "delete":
            entry = live.pop(rng.randrange(len(live)))
            assert client.delete(f"/api/v1/posts/{entry[0]}", headers=headers).status_code in (
                200,
                204,
            )
            deleted.append(entry)
        elif deleted:
            entry = deleted.pop(rng.randrange(len(deleted)))
            response = client.post(f"/api/v1/posts/{entry[0]}/restore", headers=headers)
            assert response.status_code == 200
            live.append(entry)
    db.session.remove()
    assert api_total(client) == real_total(db) == feed_total()
    for author in authors:
        assert api_total(client, author.username) == real_total(db, author.id)


def test_every_window_matches_the_newest_first_feed(app, db, make_user, make_post):
    """Windows past the middle (read from the far end on PostgreSQL) equal a plain slice."""

    author, other = make_user(), make_user()
    for number in range(7):
        make_post(author if number % 3 else other)
    make_post(author, status="draft")
    feed = [post.id for post in feed_service.list_published_posts(0, 100).items]
    assert len(feed) == 7
    for skip in range(0, 9):
        page = feed_service.list_published_posts(skip, 3)
        assert [post.id for post in page.items] == feed[skip : skip + 3], skip
        assert page.total == 7


def test_every_author_window_matches_the_authors_feed(app, db, make_user, make_post):
    """The author filter uses that author's counter and the same far-end reading."""

    author, other = make_user("windowed"), make_user()
    for number in range(6):
        make_post(author if number % 2 else other)
    feed = [post.id for post in feed_service.list_published_posts(0, 100, "windowed").items]
    assert len(feed) == 3
    for skip in range(0, 5):
        page = feed_service.list_published_posts(skip, 2, "windowed")
        assert [post.id for post in page.items] == feed[skip : skip + 2], skip
        assert page.total == 3
