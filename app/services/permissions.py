"""Who may do what, shared by the services."""

from __future__ import annotations

from app.models import User
from app.services.errors import PermissionDenied


def require_admin(actor: User | None) -> None:
    """PermissionDenied unless ``actor`` is an admin."""
    if actor is None or not actor.is_admin:
        raise PermissionDenied("Only administrators may do this")
