"""Markdown rendered once, when written: posts and comments store their HTML.

Adds ``posts.body_html``, ``posts.excerpt``, ``posts.rendered_with``,
``comments.body_html`` and ``comments.rendered_with``, fills them for every existing row
in batches, then makes them NOT NULL. The renderer below is a copy of
``app/markdown.py`` as it was when this revision was made (a revision never reads
application code); ``rendered_with`` is stamped with this copy's version string, built
the way the application builds its own, so that ``flask posts rerender`` finds nothing
to do while the two agree and re-renders the rows as soon as they do not.

Revision ID: 0007_stored_renderings
Revises: 0006_account_revocation
Create Date: 2026-11-30 12:00:00

"""

import hashlib
import json
from html import unescape
from importlib.metadata import version
from itertools import pairwise

import nh3
import sqlalchemy as sa
from alembic import op
from markdown_it import MarkdownIt

# revision identifiers, used by Alembic.
revision = "0007_stored_renderings"
down_revision = "0006_account_revocation"
branch_labels = None
depends_on = None

BATCH_SIZE = 1000

# -- the renderer as it stood (app/markdown.py) ---------------------------------------------

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "dd",
        "del",
        "details",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "s",
        "sub",
        "summary",
        "sup",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
PARSER_PRESET = "commonmark"
PARSER_OPTIONS = {"html": True}
PARSER_RULES = ("table", "strikethrough")
EXCERPT_LENGTH = 240
RULES_REVISION = 1


def renderer_version():
    """The version string of this copy of the renderer, built as app/markdown.py builds it."""
    rules = json.dumps(
        {
            "tags": sorted(ALLOWED_TAGS),
            "attributes": {tag: sorted(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
            "url_schemes": sorted(ALLOWED_URL_SCHEMES),
            "link_rel": LINK_REL,
            "parser": [PARSER_PRESET, PARSER_OPTIONS, list(PARSER_RULES)],
            "excerpt_length": EXCERPT_LENGTH,
            "revision": RULES_REVISION,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(rules.encode()).hexdigest()[:12]
    return f"markdown-it-py {version('markdown-it-py')}; nh3 {version('nh3')}; rules {digest}"


class Renderer:
    """Markdown to sanitised HTML and a plain-text excerpt, as the application did then."""

    def __init__(self):
        self.parser = MarkdownIt(PARSER_PRESET, dict(PARSER_OPTIONS)).enable(list(PARSER_RULES))
        self.cleaner = nh3.Cleaner(
            tags=set(ALLOWED_TAGS),
            attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
            url_schemes=set(ALLOWED_URL_SCHEMES),
            link_rel=LINK_REL,
            strip_comments=True,
        )
        self.text_cleaner = nh3.Cleaner(tags=set(), strip_comments=True)
        self.version = renderer_version()

    def html(self, text):
        """Sanitised HTML of Markdown ``text``."""
        return self.cleaner.clean(self.parser.render(text or ""))

    def _plain_text(self, text):
        """The words of ``text`` without markup."""
        html = self.text_cleaner.clean(self.parser.render(text or ""))
        return " ".join(unescape(html).split())

    def _paragraph_text(self, text):
        """The plain text of the top-level paragraphs of ``text``."""
        tokens = self.parser.parse(text or "")
        parts = [
            self.parser.renderInline(inline.content)
            for opening, inline in pairwise(tokens)
            if opening.type == "paragraph_open" and opening.level == 0 and inline.type == "inline"
        ]
        return " ".join(unescape(self.text_cleaner.clean(" ".join(parts))).split())

    def excerpt(self, text, length=EXCERPT_LENGTH):
        """The opening of ``text`` as plain text, at most ``length`` characters."""
        words = self._paragraph_text(text) or self._plain_text(text)
        if len(words) <= length:
            return words
        cut = words[:length].rsplit(" ", 1)[0] or words[:length]
        return cut.rstrip(" ,.;:") + "…"


# -- the schema change ----------------------------------------------------------------------

#: SQLite rebuilds ``posts`` to make a column NOT NULL, which drops its triggers; these are
#: the feed-count triggers of revision 0004, created again after each rebuild.
SQLITE_POSTS_TRIGGERS = [
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

SQLITE_DROP_POSTS_TRIGGERS = [
    "DROP TRIGGER IF EXISTS feed_counts_insert",
    "DROP TRIGGER IF EXISTS feed_counts_update",
    "DROP TRIGGER IF EXISTS feed_counts_delete",
]

POSTS = sa.table(
    "posts",
    sa.column("id", sa.Integer),
    sa.column("body", sa.Text),
    sa.column("body_html", sa.Text),
    sa.column("excerpt", sa.Text),
    sa.column("rendered_with", sa.String),
)
COMMENTS = sa.table(
    "comments",
    sa.column("id", sa.Integer),
    sa.column("body", sa.Text),
    sa.column("body_html", sa.Text),
    sa.column("rendered_with", sa.String),
)


def backfill(connection, table, names, columns_of):
    """Fill the ``names`` columns of every row of ``table``, ``BATCH_SIZE`` rows at a time."""
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.body)
            .where(table.c.id > last_id)
            .order_by(table.c.id)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            return
        connection.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values({name: sa.bindparam(name) for name in names}),
            [{"row_id": row_id, **columns_of(body)} for row_id, body in rows],
        )
        last_id = rows[-1][0]


def rebuild_posts(change):
    """Apply ``change`` to a batch of ``posts``; on SQLite, a rebuild that keeps its triggers.

    SQLite rebuilds the table (copy, drop, rename) and cannot drop a parent of comments
    while it enforces foreign keys, a setting it changes only outside a transaction: the
    rebuild runs in an autocommit block with them off, and switches them on again.
    """
    if op.get_bind().dialect.name != "sqlite":
        with op.batch_alter_table("posts") as batch:
            change(batch)
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
        try:
            for statement in SQLITE_DROP_POSTS_TRIGGERS:
                op.execute(statement)
            with op.batch_alter_table("posts") as batch:
                change(batch)
            for statement in SQLITE_POSTS_TRIGGERS:
                op.execute(statement)
        finally:
            op.execute("PRAGMA foreign_keys=ON")


def add_posts_columns(batch):
    """The posts' new columns, nullable until they are filled."""
    batch.add_column(sa.Column("body_html", sa.Text(), nullable=True))
    batch.add_column(sa.Column("excerpt", sa.Text(), nullable=True))
    batch.add_column(sa.Column("rendered_with", sa.String(length=100), nullable=True))


def require_posts_columns(batch):
    """The posts' new columns, NOT NULL once every row has them."""
    batch.alter_column("body_html", existing_type=sa.Text(), nullable=False)
    batch.alter_column("excerpt", existing_type=sa.Text(), nullable=False)
    batch.alter_column("rendered_with", existing_type=sa.String(length=100), nullable=False)


def drop_posts_columns(batch):
    """Remove the posts' new columns."""
    batch.drop_column("rendered_with")
    batch.drop_column("excerpt")
    batch.drop_column("body_html")


def upgrade():
    renderer = Renderer()
    rebuild_posts(add_posts_columns)
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rendered_with", sa.String(length=100), nullable=True))
    connection = op.get_bind()
    backfill(
        connection,
        POSTS,
        ("body_html", "excerpt", "rendered_with"),
        lambda body: {
            "body_html": renderer.html(body),
            "excerpt": renderer.excerpt(body),
            "rendered_with": renderer.version,
        },
    )
    backfill(
        connection,
        COMMENTS,
        ("body_html", "rendered_with"),
        lambda body: {"body_html": renderer.html(body), "rendered_with": renderer.version},
    )
    rebuild_posts(require_posts_columns)
    with op.batch_alter_table("comments") as batch:
        batch.alter_column("body_html", existing_type=sa.Text(), nullable=False)
        batch.alter_column("rendered_with", existing_type=sa.String(length=100), nullable=False)


def downgrade():
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("rendered_with")
        batch.drop_column("body_html")
    rebuild_posts(drop_posts_columns)
