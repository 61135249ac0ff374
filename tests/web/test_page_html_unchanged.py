"""Pages built from the HTML and excerpts stored at write time equal the pages of before.

The files in ``golden_pages/`` were captured when the templates still rendered Markdown
on every request (the ``markdown`` and ``excerpt`` filters), from the same fixed data set
as below. Set ``INKWELL_WRITE_GOLDEN_PAGES=1`` to capture them anew after a deliberate
change of the pages.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Comment, Post, User
from app.services import comment_service, user_admin_service
from tests.web_helpers import BROWSER

GOLDEN = Path(__file__).parent / "golden_pages"
WRITE_GOLDEN = os.environ.get("INKWELL_WRITE_GOLDEN_PAGES") == "1"
START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

#: Bodies that exercise the renderer and the excerpt: raw HTML, unsafe links, tables,
#: code, entities, headings or lists only, and a paragraph longer than an excerpt.
BODIES = [
    "Some *Markdown* body with **strong** words and `code`.",
    "## Only a heading\n\n- a list\n- of **things**",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\nA table, then text & entities: &lt;3 &copy;",
    '<script>alert("x")</script>\n\nRaw <b>HTML</b> <span onclick="x()">kept?</span>',
    '[a link](https://example.com "title") and [bad](javascript:alert(1)) '
    "and ![img](http://example.com/a.png)",
    "```python\nprint('code block')\n```\n\nAfter the code.",
    " ".join(["A long paragraph that goes on and on, word after word;"] * 12),
    "Crème brûlée ☕ — ünïcode, ~~struck~~ and <del>del</del>, <!-- a comment -->",
    "> A quote\n\n1. one\n2. two\n\n---\n\nDone.",
    "# Heading one\n\nFirst paragraph.\n\nSecond paragraph with a<br>break.",
    "<details><summary>More</summary>Hidden *text*</details>",
    "Plain.",
]
COMMENT_BODIES = [
    "Nice *post*!",
    "<img src=x onerror=alert(1)> sneaky",
    "A [link](https://example.org).",
    "`inline` and\n\n- a\n- list",
]
PAGES = {
    "home": "/",
    "home-2": "/?page=2",
    "post": "/posts/1",
    "post-comments-2": "/posts/1?page=2",
    "post-by-deleted-author": "/posts/13",
    "author": "/u/ada",
    "author-2": "/u/ada?page=2",
    "author-without-posts": "/u/bob",
}


@pytest.fixture
def fixed_data(app, make_user, make_admin, make_post):
    """Twelve posts by ada (one with 22 comments), a draft, and a post of a deleted author."""
    ada, bob, gone = make_user("ada"), make_user("bob"), make_user("gone")
    admin = make_admin("boss")
    posts = [
        make_post(ada, title=f"Post {n}: {body[:12]}", body=body)
        for n, body in enumerate(BODIES, 1)
    ]
    orphan = make_post(gone, title="By someone who left", body="Still *here*.")
    make_post(ada, title="A draft", body="Not *public*.", status="draft")
    with app.app_context():
        writers = [db.session.get(User, user.id) for user in (bob, gone, ada)]
        for number in range(22):
            body = COMMENT_BODIES[number % len(COMMENT_BODIES)]
            comment_service.add_comment(posts[0].id, writers[number % 3], body)
        comment_service.add_comment(orphan.id, writers[1], "My own *post*.")
        user_admin_service.delete_user(gone.id, db.session.get(User, admin.id))
        _fix_times()
    assert orphan.id == 13  # the page paths above name these ids
    return posts


def _fix_times() -> None:
    """Give every row a fixed time, so that pages do not depend on when the test runs."""
    with db.engine.begin() as connection:
        for table in (User.__table__, Post.__table__, Comment.__table__):
            for row_id in connection.scalars(table.select().with_only_columns(table.c.id)):
                moment = START + timedelta(hours=row_id)
                values = {"date_added": moment, "date_updated": moment}
                if table is Post.__table__:
                    values["published_at"] = moment
                connection.execute(update(table).where(table.c.id == row_id).values(**values))
        posts = Post.__table__
        connection.execute(update(posts).where(posts.c.status == "draft").values(published_at=None))


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_page_is_the_page_of_before(client, fixed_data, name):
    response = client.get(PAGES[name], headers=BROWSER)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    golden = GOLDEN / f"{name}.html"
    if WRITE_GOLDEN:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(html, encoding="utf-8")
    assert html == golden.read_text(encoding="utf-8")
