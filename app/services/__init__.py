"""The one write path: services that the JSON API and the HTML pages both call.

Services take plain typed arguments, run one transaction per call (the audit event
included), and raise the HTTP-aware exceptions of :mod:`app.services.errors`.
"""

from app.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    StaleVersion,
)
from app.services.pages import Page

__all__ = [
    "Conflict",
    "NotFound",
    "Page",
    "PermissionDenied",
    "PreconditionFailed",
    "StaleVersion",
]
