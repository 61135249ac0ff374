"""One transaction per service call, and the mapping of database errors to domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.database import end_reads
from app.extensions import db
from app.models import acting_as
from app.models.base import Actor
from app.services.errors import Conflict

#: Unique constraints (by name) and the field each one protects.
UNIQUE_FIELDS = {
    "uq_users_username_lower": "username",
    "uq_users_email_lower": "email",
    "uq_posts_slug": "slug",
}


@contextmanager
def transaction(actor: Actor | None = None) -> Iterator[Session]:
    """Run the block in one transaction, committed at the end, rolled back on any error.

    With ``actor``, every write in the block is stamped and audited as that user's.
    """
    session = db.session
    end_reads(session())
    with acting_as(actor) if actor is not None else nullcontext():
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def violated_field(error: IntegrityError) -> str | None:
    """The field whose unique constraint ``error`` reports, if it is one we know."""
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if constraint in UNIQUE_FIELDS:
        return UNIQUE_FIELDS[constraint]
    message = str(error.orig).lower()
    for name, field in UNIQUE_FIELDS.items():
        if name in message:
            return field
    for table_column, field in (
        ("users.username", "username"),
        ("users.email", "email"),
        ("posts.slug", "slug"),
    ):
        if table_column in message:
            return field
    return None


def conflict_from(error: IntegrityError) -> Conflict | None:
    """A domain Conflict for a unique-constraint violation, or None for other errors."""
    field = violated_field(error)
    if field is None:
        return None
    return Conflict(f"This {field} is already taken", field=field)
