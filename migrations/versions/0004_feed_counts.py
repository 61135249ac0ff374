"""Exact feed totals: ``feed_counts`` kept by triggers on ``posts`` in the writers' transaction.

Revision ID: 0004_feed_counts
Revises: 0003_partial_feed_indexes
Create Date: 2026-11-28 09:10:00

"""

import sqlalchemy as sa
from alembic import op

from app.models.feed_count import (
    POSTGRESQL_DROP,
    POSTGRESQL_FUNCTION,
    POSTGRESQL_TRIGGERS,
    RECOUNT,
    SQLITE_TRIGGERS,
)

# revision identifiers, used by Alembic.
revision = "0004_feed_counts"
down_revision = "0003_partial_feed_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "feed_counts",
        sa.Column("author_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("published", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("author_id", name=op.f("pk_feed_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Writers hold this lock while the counts are filled, so none is missed or doubled.
        op.execute("LOCK TABLE posts IN SHARE ROW EXCLUSIVE MODE")
        op.execute(POSTGRESQL_FUNCTION)
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    for statement in RECOUNT:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DROP:
            op.execute(statement)
    else:
        for name in ("feed_counts_insert", "feed_counts_update", "feed_counts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("feed_counts")
