"""The pages in real headless Chromium: an author's whole journey, paging, phones, screenshots."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db as _db
from app.models import Comment, Post
from app.services import comment_service, post_service
from tests.browser import (
    DESKTOP,
    DOCS_DIR,
    PHONE,
    browse,
    horizontal_overflow,
    log_in,
    post_links,
    register,
    sign_out,
    write_post,
)

pytestmark = [pytest.mark.slow, pytest.mark.app_settings(rate_limit_requests=10_000)]
expect = pytest.importorskip("playwright.sync_api").expect

SEEDED_POSTS = 45
SCREENSHOT_DAY = datetime(2025, 5, 1, 8, 30, tzinfo=UTC)


def test_author_journey_from_registration_to_restored_post(app, make_admin):
    make_admin("editor")
    with browse(app) as site:
        page = site.new_page()
        site.open(page, "/")
        register(page, "wordsmith")
        expect(page.locator(".flash")).to_contain_text("Welcome, wordsmith")
        sign_out(page)
        log_in(page, "wordsmith")
        expect(page.locator(".nav-user")).to_have_text("wordsmith")

        write_post(page, "My first post", "Hello **world**, this is *Markdown*.")
        expect(page.locator("article h1")).to_have_text("My first post")
        expect(page.locator(".prose strong")).to_have_text("world")
        page.locator(".brand").click()
        expect(page.locator(".post-card h2")).to_have_text(["My first post"])

        page.get_by_role("link", name="My first post").click()
        page.get_by_role("link", name="Edit").click()
        page.get_by_label("Title").fill("My edited post")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("article h1")).to_have_text("My edited post")

        page.get_by_role("link", name="Delete").click()
        page.get_by_role("button", name="Delete post").click()
        expect(page.locator(".empty")).to_have_text("Nothing has been published yet.")

        sign_out(page)
        log_in(page, "editor")
        page.get_by_role("link", name="Deleted", exact=True).click()
        page.get_by_role("button", name="Restore post My edited post").click()
        expect(page.locator(".flash")).to_contain_text("is restored")
        page.locator(".brand").click()
        expect(page.locator(".post-card h2")).to_have_text(["My edited post"])

        page.get_by_role("link", name="Audit", exact=True).click()
        page.get_by_label("Entity type").select_option("post")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator(".audit-event .badge")).to_have_text(
            ["restore", "delete", "update", "create"]
        )
        expect(page.locator(".audit-event").nth(2)).to_contain_text("My edited post")
    assert site.problems == []


def test_paging_through_45_posts_visits_every_post_exactly_once(app, make_user, make_post):
    author = make_user("prolific")
    expected = {make_post(author, title=f"Post {n:02d}").id for n in range(SEEDED_POSTS)}
    with browse(app) as site:
        page = site.new_page()
        site.open(page, "/")
        seen = []
        while True:
            seen.extend(post_links(page))
            following = page.locator("a.page-next")
            if following.count() == 0:
                break
            following.click()
        assert len(seen) == SEEDED_POSTS
        assert {post_id for post_id, _ in seen} == expected
    assert site.problems == []


WIDE_BODY = (
    "A_very_long_unbroken_word_" * 8
    + "\n\n| column one | column two | column three | column four | column five |\n"
    + "|---|---|---|---|---|\n"
    + "| "
    + " | ".join(["wide table cell content"] * 5)
    + " |\n\n"
    + "```\n"
    + "print('a code line far wider than any phone screen could ever show at once')" * 2
    + "\n```\n\n"
    + "https://example.com/a/very/long/url/that/keeps/going/and/going/and/going/forever"
)


def test_phone_width_pages_have_no_horizontal_scroll(app, make_admin, make_post, make_comment):
    admin = make_admin("phoneadmin")
    post = make_post(
        admin, title="A title long enough to wrap on a small phone screen", body=WIDE_BODY
    )
    make_comment(post, admin, body="Comment_with_a_long_unbroken_word_" * 4)
    with browse(app) as site:
        page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        site.open(page, "/")
        log_in(page, "phoneadmin")
        overflow = {}
        for path in [
            "/",
            f"/posts/{post.id}",
            f"/posts/{post.id}/edit",
            f"/posts/{post.id}/delete",
            "/posts/new",
            "/u/phoneadmin",
            "/admin/audit",
            "/admin/deleted",
            "/login",
            "/no/such/page",
        ]:
            site.open(page, path)
            overflow[path] = horizontal_overflow(page)
        assert overflow == dict.fromkeys(overflow, 0)
    assert site.problems == []


SCREENSHOT_POSTS = [
    ("Notes from a quiet week of gardening", "Tomatoes, patience and the art of doing less."),
    ("Why I keep a paper notebook", "Writing by hand slows the mind down just enough to think."),
    ("A beginner's guide to sourdough", "Flour, water, salt, time: the four ingredients of bread."),
    ("Reading list for the long winter", "Seven books that are worth the candlelight."),
]
SCREENSHOT_COMMENTS = [
    "Great list! I would add *plasters*.",
    "The ridge at sunset is unforgettable.",
]
FEATURED_BODY = """Every good trip starts with a list, and every good list starts with coffee.
Here is the one I take on every **long walk** through the hills.

## What goes in the bag

- A flask of tea and something sweet
- A paper map (*phones run out of battery*)
- A notebook for the names of birds

> The best walks are the ones where you forget to check the time.

## Planning the route

| Day | Distance | Highlight |
|-----|---------:|-----------|
| 1 | 14 km | The ridge at sunset |
| 2 | 9 km | A village bakery |

Keep the plan simple: `start early, stop often`. More on the
[walking guides](https://example.com/guides) page.
"""


def fix_screenshot_dates() -> None:
    """Give the seeded records fixed dates, so the screenshots change only when the pages do.

    Written straight to the tables (no session, so no stamping): test set-up, not a write
    the application would make.
    """
    posts, comments = Post.__table__, Comment.__table__
    with _db.engine.begin() as connection:
        for post_id in connection.scalars(select(posts.c.id).order_by(posts.c.id)).all():
            moment = SCREENSHOT_DAY + timedelta(days=post_id, hours=post_id)
            connection.execute(
                update(posts)
                .where(posts.c.id == post_id)
                .values(published_at=moment, date_added=moment, date_updated=moment)
            )
        for comment_id in connection.scalars(select(comments.c.id)).all():
            moment = SCREENSHOT_DAY + timedelta(days=7, hours=comment_id * 3)
            connection.execute(
                update(comments)
                .where(comments.c.id == comment_id)
                .values(date_added=moment, date_updated=moment)
            )


def png_size(path) -> tuple[int, int]:
    """Width and height of a PNG file."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_screenshots_of_the_home_and_post_pages_for_the_readme(app, make_user):
    authors = [make_user("maria"), make_user("tom"), make_user("aiko")]
    with app.app_context():
        for index, (title, body) in enumerate(SCREENSHOT_POSTS):
            post_service.create_post(authors[index % 3], title, body, "published")
        featured = post_service.create_post(
            authors[0], "Packing for a week of walking", FEATURED_BODY, "published"
        )
        for author, comment in zip(authors[1:], SCREENSHOT_COMMENTS, strict=True):
            comment_service.add_comment(featured.id, author, comment)
        featured_id = featured.id
        fix_screenshot_dates()
    DOCS_DIR.mkdir(exist_ok=True)
    with browse(app) as site:
        page = site.new_page(viewport=DESKTOP)
        site.open(page, "/")
        page.screenshot(path=DOCS_DIR / "home.png", full_page=True)
        site.open(page, f"/posts/{featured_id}")
        page.screenshot(path=DOCS_DIR / "post.png", full_page=True)
    for name in ("home.png", "post.png"):
        width, height = png_size(DOCS_DIR / name)
        assert width == DESKTOP["width"]
        assert height >= DESKTOP["height"] // 2
    assert site.problems == []
