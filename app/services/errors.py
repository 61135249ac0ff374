"""Domain exceptions raised by the services.

Each one is a Werkzeug ``HTTPException`` with the matching status code, so the one error
handler in :mod:`app.errors` answers it (JSON envelope or error page) without any view
translating it.
"""

from __future__ import annotations

from werkzeug import exceptions


class NotFound(exceptions.NotFound):
    """404: the record does not exist, is soft-deleted, or is not visible to the caller."""

    def __init__(self, entity: str, entity_id: object | None = None) -> None:
        label = entity.capitalize()
        super().__init__(
            f"{label} not found" if entity_id is None else f"{label} {entity_id} not found"
        )
        self.entity = entity
        self.entity_id = entity_id


class Conflict(exceptions.Conflict):
    """409: the write clashes with existing data, e.g. a username that is taken."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.details = [{"field": field, "message": message}] if field else None


class StaleVersion(Conflict):
    """409: someone else changed the record between reading and writing it; retry."""

    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(
            f"{entity.capitalize()} {entity_id} was changed by someone else; reload and retry"
        )
        self.entity = entity
        self.entity_id = entity_id


class PreconditionFailed(exceptions.PreconditionFailed):
    """412: the caller's expected version (``If-Match``) is not the current one."""

    def __init__(self, entity: str, entity_id: object, current_version: int | None = None) -> None:
        super().__init__(
            f"{entity.capitalize()} {entity_id} has changed since it was read (If-Match failed)"
        )
        self.entity = entity
        self.entity_id = entity_id
        self.current_version = current_version


class PermissionDenied(exceptions.Forbidden):
    """403: the caller may see the record but not do this to it."""

    def __init__(self, message: str = "You do not have permission to do this") -> None:
        super().__init__(message)


class WrongPassword(PermissionDenied):
    """403: the signed-in user's current password, asked for again, is wrong.

    Not a 401: the token or session is valid; what failed is the extra proof.
    """

    def __init__(self) -> None:
        super().__init__("The current password is wrong")
