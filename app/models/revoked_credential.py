"""Revoked credentials: the ids of single tokens and page sessions ended before they expire.

Signing out ends one token (its ``jti``) or one page session (its ``sid``) by inserting
its id here; the check that loads the request's user reads this table in the same
statement (see :func:`app.services.user_service.get_active_user`). A row is needed only
until the credential would have expired anyway; later writes delete such rows. Ending
every credential of a user at once bumps ``User.credentials_version`` instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

#: The longest credential id (``app.auth.CREDENTIAL_ID_MAX``; models import no Flask code).
CREDENTIAL_ID_LENGTH = 64


class RevokedCredential(Base):
    """One token or page session that no longer signs anyone in."""

    __tablename__ = "revoked_credentials"

    id: Mapped[str] = mapped_column(String(CREDENTIAL_ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    #: When the credential itself expires; the row is useless afterwards.
    expires_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (Index("ix_revoked_credentials_expires_at", "expires_at"),)

    def __repr__(self) -> str:
        return f"<RevokedCredential user={self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}>"
