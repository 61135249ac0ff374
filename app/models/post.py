"""Posts: Markdown articles, drafts or published."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import (
    DELETED_ROWS_SQL,
    LIVE_ROWS_SQL,
    AuditedModel,
    VersionedMixin,
    attribution,
)

if TYPE_CHECKING:
    from app.models.comment import Comment
    from app.models.user import User


class PostStatus(StrEnum):
    """Whether a post is visible to everyone."""

    DRAFT = "draft"
    PUBLISHED = "published"


class Post(VersionedMixin, AuditedModel):
    """A blog post; ``slug`` is unique, ``published_at`` is set when it is published."""

    __tablename__ = "posts"
    __audit_entity__ = "post"
    __audit_derived__ = frozenset({"body_html", "excerpt", "rendered_with"})

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(220), nullable=False, unique=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: ``body`` rendered to sanitised HTML, and its plain-text opening, when it was written
    #: (see :mod:`app.markdown`); ``rendered_with`` names the renderer that made them.
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    excerpt: Mapped[str] = mapped_column(Text, nullable=False)
    rendered_with: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[PostStatus] = mapped_column(
        Enum(
            PostStatus,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        nullable=False,
        default=PostStatus.DRAFT,
    )
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    author: Mapped[User] = relationship(back_populates="posts")
    comments: Mapped[list[Comment]] = relationship(back_populates="post", order_by="Comment.id")

    __table_args__ = (
        # The public feed (published, live, newest first) and its count; partial on
        # deleted_at IS NULL, the soft-delete filter every query carries.
        Index(
            "ix_posts_feed",
            "status",
            "published_at",
            "id",
            postgresql_where=text(LIVE_ROWS_SQL),
            sqlite_where=text(LIVE_ROWS_SQL),
        ),
        # An author's posts: the published ones newest first, or all of them.
        Index(
            "ix_posts_author_feed",
            "author_id",
            "status",
            "published_at",
            "id",
            postgresql_where=text(LIVE_ROWS_SQL),
            sqlite_where=text(LIVE_ROWS_SQL),
        ),
        Index(
            "ix_posts_author_id",
            "author_id",
            "id",
            postgresql_where=text(LIVE_ROWS_SQL),
            sqlite_where=text(LIVE_ROWS_SQL),
        ),
        # The admins' list of deleted posts.
        Index(
            "ix_posts_deleted_at",
            "deleted_at",
            "id",
            postgresql_where=text(DELETED_ROWS_SQL),
            sqlite_where=text(DELETED_ROWS_SQL),
        ),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published_has_date"),
    )

    @property
    def is_published(self) -> bool:
        """Whether everyone may read the post."""
        return self.status == PostStatus.PUBLISHED

    @property
    def byline(self) -> User | None:
        """The author as readers see them: None once the account is deleted."""
        return attribution(self.author)

    def __repr__(self) -> str:
        return f"<Post {self.id} {self.slug!r}>"
