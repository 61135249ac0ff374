"""Comments on posts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import DELETED_ROWS_SQL, AuditedModel, VersionedMixin, attribution

if TYPE_CHECKING:
    from app.models.post import Post
    from app.models.user import User


class Comment(VersionedMixin, AuditedModel):
    """A reader's comment on a post; hidden whenever its post is soft-deleted."""

    __tablename__ = "comments"
    __audit_entity__ = "comment"
    __audit_derived__ = frozenset({"body_html", "rendered_with"})

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), nullable=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: ``body`` rendered to sanitised HTML when it was written (see :mod:`app.markdown`).
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    rendered_with: Mapped[str] = mapped_column(String(100), nullable=False)

    post: Mapped[Post] = relationship(back_populates="comments")
    author: Mapped[User] = relationship(back_populates="comments")

    __table_args__ = (
        # A post's comments, oldest first.
        Index("ix_comments_post_id", "post_id", "id"),
        Index("ix_comments_author_id", "author_id", "id"),
        # The admins' list of deleted comments.
        Index(
            "ix_comments_deleted_at",
            "deleted_at",
            "id",
            postgresql_where=text(DELETED_ROWS_SQL),
            sqlite_where=text(DELETED_ROWS_SQL),
        ),
    )

    @property
    def byline(self) -> User | None:
        """The author as readers see them: None once the account is deleted."""
        return attribution(self.author)

    def __repr__(self) -> str:
        return f"<Comment {self.id} on post {self.post_id}>"
