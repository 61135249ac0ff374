"""Demo data for ``flask seed``: users, posts and comments, inserted in bulk.

Rows go in through ORM bulk ``insert()`` statements, so the one stamping listener stamps
them and every row still gets its audit event (see :mod:`app.models.bulk`). Bodies come
from small pools and are rendered once each (:class:`Renderings`), as the services
render a text once when it is written.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.auth import hash_password
from app.markdown import Rendering, render
from app.models import BULK_COPY, Comment, Post, PostStatus, Role, User, reserve_ids, utcnow
from app.services import rendering_service

#: Every demo user signs in with this password.
DEMO_PASSWORD = "demo-password"
BATCH_SIZE = 5000
PUBLISHED_SHARE = 0.9
MAX_AGE_SECONDS = 365 * 24 * 3600
WORDS = [
    "ink",
    "quill",
    "paper",
    "margin",
    "draft",
    "story",
    "chapter",
    "river",
    "lantern",
    "garden",
    "harbour",
    "winter",
    "signal",
    "archive",
    "letter",
    "north",
    "quiet",
    "bright",
    "early",
    "window",
    "meadow",
    "engine",
    "orbit",
    "copper",
    "thread",
    "candle",
    "echo",
    "field",
    "mirror",
    "stone",
    "cloud",
    "market",
    "journey",
    "atlas",
    "compass",
    "ember",
    "forest",
    "glass",
    "island",
    "ledger",
    "marble",
    "needle",
    "ocean",
    "pocket",
    "ribbon",
    "saddle",
    "tunnel",
    "valley",
]


@dataclass(frozen=True)
class SeedReport:
    """What ``seed_demo_data`` inserted, and how long it took."""

    users: int
    posts: int
    comments: int
    seconds: float
    usernames: tuple[str, ...]


class _Text:
    """Pools of random sentences and bodies, drawn once: content is not what is timed."""

    def __init__(self, rng: random.Random, size: int = 500) -> None:
        self.rng = rng
        self.sentences = [self._sentence(4, 20) for _ in range(size)]
        self.bodies = [self._body() for _ in range(size)]

    def _sentence(self, low: int, high: int) -> str:
        """A random sentence of ``low`` to ``high`` words."""
        words = self.rng.choices(WORDS, k=self.rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    def _body(self) -> str:
        """A random Markdown body: a heading and one to three paragraphs."""
        paragraphs = [
            " ".join(self._sentence(6, 14) for _ in range(self.rng.randint(1, 3)))
            for _ in range(self.rng.randint(1, 3))
        ]
        return f"## {self._sentence(2, 4)}\n\n" + "\n\n".join(paragraphs)

    def title(self) -> list[str]:
        """Two to six words."""
        return self.rng.choices(WORDS, k=self.rng.randint(2, 6))

    def body(self) -> str:
        """A Markdown post body."""
        return self.rng.choice(self.bodies)

    def sentence(self) -> str:
        """A comment."""
        return self.rng.choice(self.sentences)


class Renderings:
    """Each distinct Markdown text rendered once: the pools repeat their texts many times."""

    def __init__(self) -> None:
        self._done: dict[str, Rendering] = {}

    def of(self, text: str) -> Rendering:
        """The rendering of ``text``, made on its first use."""
        rendering = self._done.get(text)
        if rendering is None:
            rendering = self._done[text] = render(text)
        return rendering

    def post_columns(self, body: str) -> dict[str, Any]:
        """A post's ``body`` and its stored rendering, as columns."""
        return {"body": body, **rendering_service.post_columns(self.of(body))}

    def comment_columns(self, body: str) -> dict[str, Any]:
        """A comment's ``body`` and its stored rendering, as columns."""
        return {"body": body, **rendering_service.comment_columns(self.of(body))}


def seed_demo_data(
    session: Session,
    *,
    posts: int,
    users: int = 10,
    comments_per_post: int = 1,
    seed: int | None = None,
    progress: Callable[[str], None] = lambda _message: None,
) -> SeedReport:
    """Insert ``users`` demo users, ``posts`` posts and about ``comments_per_post`` each."""
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - demo content, not secrets
    text = _Text(rng)
    renderings = Renderings()
    tag = secrets.token_hex(3)  # keeps usernames and slugs unique across runs
    usernames = tuple(f"demo-{tag}-{number}" for number in range(1, users + 1))
    password_hash = hash_password(DEMO_PASSWORD)
    user_ids = session.scalars(
        insert(User).returning(User.id),
        [
            {
                "username": username,
                "email": f"{username}@example.com",
                "password_hash": password_hash,
                "role": Role.AUTHOR,
                "is_active": True,
            }
            for username in usernames
        ],
    ).all()
    session.commit()
    now = utcnow()
    comment_count = 0
    for start in range(0, posts, BATCH_SIZE):
        post_rows = []
        for number in range(start + 1, min(start + BATCH_SIZE, posts) + 1):
            words = text.title()
            published = rng.random() < PUBLISHED_SHARE
            post_rows.append(
                {
                    "title": " ".join(words).capitalize(),
                    "slug": "-".join(words) + f"-{tag}-{number}",
                    **renderings.post_columns(text.body()),
                    "status": PostStatus.PUBLISHED if published else PostStatus.DRAFT,
                    "published_at": (
                        now - timedelta(seconds=rng.randrange(MAX_AGE_SECONDS))
                        if published
                        else None
                    ),
                    "author_id": rng.choice(user_ids),
                }
            )
        # render_nulls keeps drafts' NULL published_at in the same batched INSERTs.
        statement = insert(Post).execution_options(render_nulls=True, **{BULK_COPY: True})
        post_ids = reserve_ids(session, Post, len(post_rows))
        if post_ids is None:  # no sequence to reserve from (SQLite): ids come back instead
            statuses = session.execute(statement.returning(Post.id, Post.status), post_rows).all()
        else:
            for post_id, row in zip(post_ids, post_rows, strict=True):
                row["id"] = post_id
            session.execute(statement, post_rows)
            statuses = [(row["id"], row["status"]) for row in post_rows]
        comment_rows = [
            {
                "post_id": post_id,
                "author_id": rng.choice(user_ids),
                **renderings.comment_columns(text.sentence()),
            }
            for post_id, status in statuses
            if status is PostStatus.PUBLISHED
            for _ in range(rng.randint(0, 2 * comments_per_post))
        ]
        comment_ids = reserve_ids(session, Comment, len(comment_rows)) or []
        for comment_id, row in zip(comment_ids, comment_rows, strict=False):
            row["id"] = comment_id
        if comment_rows:
            session.execute(insert(Comment).execution_options(**{BULK_COPY: True}), comment_rows)
        session.commit()
        comment_count += len(comment_rows)
        progress(f"{start + len(post_rows)} / {posts} posts")
    return SeedReport(
        users=len(user_ids),
        posts=posts,
        comments=comment_count,
        seconds=time.perf_counter() - started,
        usernames=usernames,
    )
