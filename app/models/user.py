"""Users: authors and admins."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import AuditedModel

if TYPE_CHECKING:
    from app.models.comment import Comment
    from app.models.post import Post


class Role(StrEnum):
    """What a user may do."""

    AUTHOR = "author"
    ADMIN = "admin"


class User(AuditedModel):
    """A registered account; username and email are unique ignoring case."""

    __tablename__ = "users"
    __audit_entity__ = "user"
    __audit_masked__ = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda roles: [role.value for role in roles],
        ),
        nullable=False,
        default=Role.AUTHOR,
    )
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)
    #: Carried by every token and page session; bumping it ends all of them at once
    #: (deactivation, deletion, a password change, signing out everywhere).
    credentials_version: Mapped[int] = mapped_column(
        nullable=False, default=1, server_default=text("1")
    )

    posts: Mapped[list[Post]] = relationship(back_populates="author", order_by="Post.id")
    comments: Mapped[list[Comment]] = relationship(back_populates="author", order_by="Comment.id")

    __table_args__ = (
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("uq_users_email_lower", func.lower(email), unique=True),
        CheckConstraint("role IN ('author', 'admin')", name="role"),
    )

    @property
    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"
