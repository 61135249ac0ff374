"""Exact feed totals: ``feed_counts`` kept by triggers on ``posts`` in the writers' transaction.

The DDL is written out here as it was when this revision was made: a revision never
reads application code, so later changes to :mod:`app.models.feed_count` cannot rewrite
what this step did.

Revision ID: 0004_feed_counts
Revises: 0003_partial_feed_indexes
Create Date: 2026-11-28 09:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_feed_counts"
down_revision = "0003_partial_feed_indexes"
branch_labels = None
depends_on = None

POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION feed_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO feed_counts (author_id, published) SELECT scope, sum(delta) FROM
        (SELECT scope, 1 AS delta FROM new_rows, LATERAL (VALUES (0),
        (new_rows.author_id)) AS scopes(scope) WHERE new_rows.status = 'published' AND
        new_rows.deleted_at IS NULL) AS deltas GROUP BY scope HAVING sum(delta) <> 0
        ORDER BY scope ON CONFLICT (author_id) DO UPDATE SET published =
        feed_counts.published + excluded.published;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO feed_counts (author_id, published) SELECT scope, sum(delta) FROM
        (SELECT scope, -1 AS delta FROM old_rows, LATERAL (VALUES (0),
        (old_rows.author_id)) AS scopes(scope) WHERE old_rows.status = 'published' AND
        old_rows.deleted_at IS NULL UNION ALL SELECT scope, 1 AS delta FROM new_rows,
        LATERAL (VALUES (0), (new_rows.author_id)) AS scopes(scope) WHERE
        new_rows.status = 'published' AND new_rows.deleted_at IS NULL) AS deltas GROUP
        BY scope HAVING sum(delta) <> 0 ORDER BY scope ON CONFLICT (author_id) DO UPDATE
        SET published = feed_counts.published + excluded.published;
    ELSE
        INSERT INTO feed_counts (author_id, published) SELECT scope, sum(delta) FROM
        (SELECT scope, -1 AS delta FROM old_rows, LATERAL (VALUES (0),
        (old_rows.author_id)) AS scopes(scope) WHERE old_rows.status = 'published' AND
        old_rows.deleted_at IS NULL) AS deltas GROUP BY scope HAVING sum(delta) <> 0
        ORDER BY scope ON CONFLICT (author_id) DO UPDATE SET published =
        feed_counts.published + excluded.published;
    END IF;
    RETURN NULL;
END
$$;
"""

POSTGRESQL_TRIGGERS = [
    (
        "CREATE TRIGGER feed_counts_insert AFTER INSERT ON posts REFERENCING NEW "
        "TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION feed_counts_apply()"
    ),
    (
        "CREATE TRIGGER feed_counts_update AFTER UPDATE ON posts REFERENCING OLD "
        "TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "
        "feed_counts_apply()"
    ),
    (
        "CREATE TRIGGER feed_counts_delete AFTER DELETE ON posts REFERENCING OLD "
        "TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION feed_counts_apply()"
    ),
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS feed_counts_insert ON posts",
    "DROP TRIGGER IF EXISTS feed_counts_update ON posts",
    "DROP TRIGGER IF EXISTS feed_counts_delete ON posts",
    "DROP FUNCTION IF EXISTS feed_counts_apply()",
]

SQLITE_TRIGGERS = [
    (
        "CREATE TRIGGER feed_counts_insert AFTER INSERT ON posts BEGIN INSERT INTO "
        "feed_counts (author_id, published) SELECT scope, sum(delta) FROM (SELECT 0 "
        "AS scope, 1 AS delta WHERE NEW.status = 'published' AND NEW.deleted_at IS "
        "NULL UNION ALL SELECT NEW.author_id AS scope, 1 AS delta WHERE NEW.status = "
        "'published' AND NEW.deleted_at IS NULL) WHERE true GROUP BY scope HAVING "
        "sum(delta) <> 0 ON CONFLICT (author_id) DO UPDATE SET published = "
        "feed_counts.published + excluded.published; END"
    ),
    (
        "CREATE TRIGGER feed_counts_update AFTER UPDATE ON posts BEGIN INSERT INTO "
        "feed_counts (author_id, published) SELECT scope, sum(delta) FROM (SELECT 0 "
        "AS scope, -1 AS delta WHERE OLD.status = 'published' AND OLD.deleted_at IS "
        "NULL UNION ALL SELECT OLD.author_id AS scope, -1 AS delta WHERE OLD.status = "
        "'published' AND OLD.deleted_at IS NULL UNION ALL SELECT 0 AS scope, 1 AS "
        "delta WHERE NEW.status = 'published' AND NEW.deleted_at IS NULL UNION ALL "
        "SELECT NEW.author_id AS scope, 1 AS delta WHERE NEW.status = 'published' AND "
        "NEW.deleted_at IS NULL) WHERE true GROUP BY scope HAVING sum(delta) <> 0 ON "
        "CONFLICT (author_id) DO UPDATE SET published = feed_counts.published + "
        "excluded.published; END"
    ),
    (
        "CREATE TRIGGER feed_counts_delete AFTER DELETE ON posts BEGIN INSERT INTO "
        "feed_counts (author_id, published) SELECT scope, sum(delta) FROM (SELECT 0 "
        "AS scope, -1 AS delta WHERE OLD.status = 'published' AND OLD.deleted_at IS "
        "NULL UNION ALL SELECT OLD.author_id AS scope, -1 AS delta WHERE OLD.status = "
        "'published' AND OLD.deleted_at IS NULL) WHERE true GROUP BY scope HAVING "
        "sum(delta) <> 0 ON CONFLICT (author_id) DO UPDATE SET published = "
        "feed_counts.published + excluded.published; END"
    ),
]

#: Fills ``feed_counts`` from the posts already there.
RECOUNT = [
    "DELETE FROM feed_counts",
    (
        "INSERT INTO feed_counts (author_id, published) SELECT 0, count(*) FROM posts "
        "WHERE status = 'published' AND deleted_at IS NULL"
    ),
    (
        "INSERT INTO feed_counts (author_id, published) SELECT author_id, count(*) "
        "FROM posts WHERE status = 'published' AND deleted_at IS NULL GROUP BY "
        "author_id"
    ),
]


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
