"""Stored renderings: bringing the HTML and excerpts of posts and comments up to date.

Posts and comments are rendered when they are written (:func:`app.markdown.render`) and
keep the renderer's version in ``rendered_with``. After an upgrade of markdown-it-py or
nh3, or a change of our rules, :func:`rerender` renders again the rows another version
made (or all of them), in batches of one short transaction each.

The stored rendering is derived from the body, not content: these are Core statements,
which no ORM hook sees, so a row's ``version``, ``date_updated`` and audit trail stay as
they are. A row whose version moved between the read and the write (its author edited
it meanwhile, and the edit rendered it anew) is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, update

from app.extensions import db
from app.markdown import RENDERER_VERSION, Rendering, render
from app.models import Comment, Post

BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class RerenderReport:
    """How many rows :func:`rerender` rendered again, and with which renderer."""

    posts: int
    comments: int
    rendered_with: str


def post_columns(rendering: Rendering) -> dict[str, Any]:
    """A post's stored rendering, as column values."""
    return {
        "body_html": rendering.html,
        "excerpt": rendering.excerpt,
        "rendered_with": rendering.rendered_with,
    }


def comment_columns(rendering: Rendering) -> dict[str, Any]:
    """A comment's stored rendering, as column values."""
    return {"body_html": rendering.html, "rendered_with": rendering.rendered_with}


def rerender(*, everything: bool = False, batch_size: int = BATCH_SIZE) -> RerenderReport:
    """Render again every post and comment not rendered by RENDERER_VERSION (or all)."""
    return RerenderReport(
        posts=_rerender_table(Post.__table__, post_columns, everything, batch_size),
        comments=_rerender_table(Comment.__table__, comment_columns, everything, batch_size),
        rendered_with=RENDERER_VERSION,
    )


def _rerender_table(
    table: Table,
    columns: Callable[[Rendering], dict[str, Any]],
    everything: bool,
    batch_size: int,
) -> int:
    """Rerender ``table``'s rows in id order, one batch per transaction; the rows written."""
    names = list(columns(render("")))
    write = (
        update(table)
        .where(and_(table.c.id == bindparam("row_id"), table.c.version == bindparam("seen")))
        .values({name: bindparam(name) for name in names})
    )
    written, last_id = 0, 0
    while True:
        # Soft-deleted rows too: a restore shows them again.
        batch = select(table.c.id, table.c.version, table.c.body).where(table.c.id > last_id)
        if not everything:
            batch = batch.where(table.c.rendered_with != RENDERER_VERSION)
        connection = db.session.connection()
        rows = connection.execute(batch.order_by(table.c.id).limit(batch_size)).all()
        if not rows:
            db.session.commit()
            return written
        result = connection.execute(
            write,
            [
                {"row_id": row_id, "seen": version, **columns(render(body))}
                for row_id, version, body in rows
            ],
        )
        db.session.commit()
        written += result.rowcount if result.rowcount >= 0 else len(rows)
        last_id = rows[-1][0]
