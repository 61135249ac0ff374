"""Partial indexes for the lists: live rows for feeds, deleted rows for the admins.

Every query carries the soft-delete filter ``deleted_at IS NULL``; indexes restricted to
live rows let PostgreSQL read the feed newest-first straight from the index instead of
sorting every published post.

Revision ID: 0003_partial_feed_indexes
Revises: 0002_audit_events_append_only
Create Date: 2026-11-28 08:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003_partial_feed_indexes"
down_revision = "0002_audit_events_append_only"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
DELETED = sa.text("deleted_at IS NOT NULL")


def where(condition: sa.TextClause) -> dict:
    """The same partial-index condition for both backends."""
    return {"postgresql_where": condition, "sqlite_where": condition}


def upgrade():
    op.drop_index("ix_posts_feed", table_name="posts")
    op.drop_index("ix_posts_author_feed", table_name="posts")
    op.drop_index("ix_posts_author_id", table_name="posts")
    op.create_index("ix_posts_feed", "posts", ["status", "published_at", "id"], **where(LIVE))
    op.create_index(
        "ix_posts_author_feed",
        "posts",
        ["author_id", "status", "published_at", "id"],
        **where(LIVE),
    )
    op.create_index("ix_posts_author_id", "posts", ["author_id", "id"], **where(LIVE))
    op.create_index("ix_posts_deleted_at", "posts", ["deleted_at", "id"], **where(DELETED))
    op.create_index(
        "ix_comments_deleted_at", "comments", ["deleted_at", "id"], **where(DELETED)
    )


def downgrade():
    op.drop_index("ix_comments_deleted_at", table_name="comments")
    op.drop_index("ix_posts_deleted_at", table_name="posts")
    op.drop_index("ix_posts_author_id", table_name="posts")
    op.drop_index("ix_posts_author_feed", table_name="posts")
    op.drop_index("ix_posts_feed", table_name="posts")
    op.create_index("ix_posts_feed", "posts", ["status", "deleted_at", "published_at", "id"])
    op.create_index(
        "ix_posts_author_feed", "posts", ["author_id", "status", "published_at", "id"]
    )
    op.create_index("ix_posts_author_id", "posts", ["author_id", "id"])
