"""Revision 0007 renders the rows already there with its own copy of the renderer."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app.extensions import db
from app.markdown import RENDERER_VERSION, render
from tests.migrations.test_migrations import empty_database_url  # noqa: F401 - a fixture

BEFORE = "0006_account_revocation"
NOW = "2026-01-01 00:00:00"
BODIES = [
    "## Heading\n\nSome *text* <script>alert(1)</script> and [x](javascript:y).",
    " ".join(["A long paragraph, word after word;"] * 20),
    "| a | b |\n|---|---|\n| 1 | 2 |",
]
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based"),
]


@pytest.fixture
def old_schema_app(make_settings, empty_database_url):  # noqa: F811 - the fixture above
    """An app whose database stands at revision 0006, holding posts and a comment."""
    from app import create_app

    application = create_app(make_settings(database_url=empty_database_url))
    with application.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, username, email, password_hash, role, is_active,"
                    " date_added, date_updated, added_by, updated_by)"
                    " VALUES (1, 'old', 'old@example.com', 'h', 'author', true,"
                    " :now, :now, 0, 0)"
                ),
                {"now": NOW},
            )
            for number, body in enumerate(BODIES, 1):
                connection.execute(
                    text(
                        "INSERT INTO posts (id, title, slug, body, status, published_at,"
                        " author_id, version, date_added, date_updated, added_by, updated_by)"
                        " VALUES (:id, 'T', :slug, :body, 'published', :now, 1, 1, :now,"
                        " :now, 0, 0)"
                    ),
                    {"id": number, "slug": f"t-{number}", "body": body, "now": NOW},
                )
            connection.execute(
                text(
                    "INSERT INTO comments (id, post_id, author_id, body, version, date_added,"
                    " date_updated, added_by, updated_by)"
                    " VALUES (1, 1, 1, 'Hi **there**', 1, :now, :now, 0, 0)"
                ),
                {"now": NOW},
            )
        yield application
        db.session.remove()
        db.engine.dispose()


def rows(sql: str) -> list:
    """The rows of ``sql``."""
    with db.engine.connect() as connection:
        return connection.execute(text(sql)).all()


def test_existing_rows_get_what_the_application_would_store(old_schema_app):
    upgrade()
    stored = rows("SELECT body, body_html, excerpt, rendered_with FROM posts ORDER BY id")
    assert len(stored) == len(BODIES)
    for body, html, excerpt, rendered_with in stored:
        rendering = render(body)
        assert (html, excerpt) == (rendering.html, rendering.excerpt)
        assert rendered_with == RENDERER_VERSION  # so `posts rerender` has nothing to do
    [(html, rendered_with)] = rows("SELECT body_html, rendered_with FROM comments")
    assert (html, rendered_with) == (render("Hi **there**").html, RENDERER_VERSION)


def test_the_new_columns_are_required_afterwards(old_schema_app):
    upgrade()
    with pytest.raises(Exception, match=r"(?i)not.null"), db.engine.begin() as connection:
        connection.execute(text("UPDATE posts SET body_html = NULL WHERE id = 1"))


def test_the_feed_counts_still_follow_writes_after_the_upgrade(old_schema_app):
    upgrade()
    published = "SELECT published FROM feed_counts WHERE author_id = 0"
    before = rows(published)[0][0]
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE posts SET status = 'draft', published_at = NULL WHERE id = 1")
        )
    assert rows(published)[0][0] == before - 1


def test_downgrade_removes_the_columns_and_keeps_the_rows(old_schema_app):
    upgrade()
    downgrade(revision=BEFORE)
    assert len(rows("SELECT id, body FROM posts")) == len(BODIES)
    columns = (
        {row[1] for row in rows("SELECT * FROM pragma_table_info('posts')")}
        if (db.engine.dialect.name == "sqlite")
        else {
            row[0]
            for row in rows(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'posts'"
                " AND table_schema = current_schema()"
            )
        }
    )
    assert not columns & {"body_html", "excerpt", "rendered_with"}
