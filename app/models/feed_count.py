"""Exact counts of the public feed, kept by the database in the same transaction as each write.

The lists must report an exact ``total`` without counting every published post on every
request. ``feed_counts`` holds one row per author (``author_id``) plus the row
``FEED_ALL`` (0) for the whole feed: the number of live, published posts. Triggers on
``posts`` adjust these rows with ``published = published + delta`` in the transaction of
the write itself, so every writer (ORM flushes, bulk inserts and COPY, raw SQL, several
workers or hosts at once) keeps them exact, and a rolled-back write leaves them untouched.

On PostgreSQL the triggers are statement-level with transition tables, so a bulk insert
of 10,000 posts costs one grouped upsert rather than 10,000; SQLite gets row triggers.
``create_all`` installs this DDL (tests on SQLite); migration 0004 carries its own copy,
as it was when that revision was written.
"""

# ruff: noqa: S608 - the DDL below is built from constants only, never from input

from __future__ import annotations

from sqlalchemy import DDL, BigInteger, Integer, event
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import LIVE_ROWS_SQL, Base

#: The ``author_id`` of the row that counts the whole feed (no user has id 0).
FEED_ALL = 0


def _counted(row: str) -> str:
    """The condition under which the post ``row`` counts in the feed: published and live."""
    return f"{row}.status = 'published' AND {row}.{LIVE_ROWS_SQL}"


_UPSERT = (
    "ON CONFLICT (author_id) DO UPDATE SET published = feed_counts.published + excluded.published"
)


class FeedCount(Base):
    """How many live, published posts an author has (``author_id`` 0: the whole feed)."""

    __tablename__ = "feed_counts"

    author_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    published: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


def _postgresql_delta(sources: list[tuple[str, int]]) -> str:
    """One grouped upsert applying the deltas of the transition tables in ``sources``."""
    rows = " UNION ALL ".join(
        f"SELECT scope, {sign} AS delta FROM {table}, "
        f"LATERAL (VALUES ({FEED_ALL}), ({table}.author_id)) AS scopes(scope) "
        f"WHERE {_counted(table)}"
        for table, sign in sources
    )
    return (
        "INSERT INTO feed_counts (author_id, published) "
        f"SELECT scope, sum(delta) FROM ({rows}) AS deltas "
        "GROUP BY scope HAVING sum(delta) <> 0 ORDER BY scope "
        f"{_UPSERT};"
    )


POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION feed_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_postgresql_delta([("new_rows", 1)])}
    ELSIF TG_OP = 'UPDATE' THEN
        {_postgresql_delta([("old_rows", -1), ("new_rows", 1)])}
    ELSE
        {_postgresql_delta([("old_rows", -1)])}
    END IF;
    RETURN NULL;
END
$$;
"""

POSTGRESQL_TRIGGERS = [
    "CREATE TRIGGER feed_counts_insert AFTER INSERT ON posts "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION feed_counts_apply()",
    "CREATE TRIGGER feed_counts_update AFTER UPDATE ON posts "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION feed_counts_apply()",
    "CREATE TRIGGER feed_counts_delete AFTER DELETE ON posts "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION feed_counts_apply()",
]


def _sqlite_delta(rows: list[tuple[str, int]]) -> str:
    """One upsert applying the deltas of the ``OLD``/``NEW`` rows in ``rows``."""
    parts = " UNION ALL ".join(
        f"SELECT {scope} AS scope, {sign} AS delta WHERE {_counted(row)}"
        for row, sign in rows
        for scope in (str(FEED_ALL), f"{row}.author_id")
    )
    return (
        "INSERT INTO feed_counts (author_id, published) "
        f"SELECT scope, sum(delta) FROM ({parts}) WHERE true "
        "GROUP BY scope HAVING sum(delta) <> 0 "
        f"{_UPSERT};"
    )


SQLITE_TRIGGERS = [
    "CREATE TRIGGER feed_counts_insert AFTER INSERT ON posts BEGIN "
    f"{_sqlite_delta([('NEW', 1)])} END",
    "CREATE TRIGGER feed_counts_update AFTER UPDATE ON posts BEGIN "
    f"{_sqlite_delta([('OLD', -1), ('NEW', 1)])} END",
    "CREATE TRIGGER feed_counts_delete AFTER DELETE ON posts BEGIN "
    f"{_sqlite_delta([('OLD', -1)])} END",
]


def _install_triggers() -> None:
    """Create the triggers whenever ``create_all`` runs, once every table exists."""
    metadata = FeedCount.metadata
    event.listen(
        metadata, "after_create", DDL(POSTGRESQL_FUNCTION).execute_if(dialect="postgresql")
    )
    for statement in POSTGRESQL_TRIGGERS:
        event.listen(metadata, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    for statement in SQLITE_TRIGGERS:
        event.listen(metadata, "after_create", DDL(statement).execute_if(dialect="sqlite"))


_install_triggers()
