"""What the current request is, and on whose behalf the code runs.

A leaf module built on context variables only (no Flask), so that every layer can ask,
models and log formatters included, without importing request state:

* :class:`RequestState`: the request's id, when it started and which user its credentials
  name. The request edge (:mod:`app.edge.middleware`) opens one per request; the identity
  resolver (:mod:`app.edge.identity`) fills in the credentials once.
* the actor: the user id every write inside :func:`acting_as` is stamped and audited with;
  outside such a block (CLI commands, migrations, maintenance) it is :data:`SYSTEM_ACTOR_ID`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Final

#: The actor of writes made outside a request: CLI commands, migrations, maintenance.
SYSTEM_ACTOR_ID: Final = 0
#: The request id shown where no request is being served.
NO_REQUEST_ID: Final = "-"


class _SelfActor:
    """Marker: each row created is its own actor (self-registration)."""

    def __repr__(self) -> str:
        return "ACTOR_SELF"


#: Pass to :func:`acting_as` when a new user registers: the new row's own id becomes
#: ``added_by``/``updated_by`` and the actor of its audit event once the id is known.
ACTOR_SELF: Final = _SelfActor()

Actor = int | _SelfActor


@dataclass
class RequestState:
    """One request: its id, its start, and the credentials it carries (resolved once)."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    #: Whether the credentials below have been read from the request yet.
    credentials_resolved: bool = False
    #: "token", "session" or None: what the request presented to prove who it is.
    credentials: str | None = None
    #: The user id a correctly signed, unexpired token or session names (not yet checked
    #: against the database); None for anonymous requests and for invalid credentials.
    claimed_user_id: int | None = None
    #: Whether the presented credentials were invalid (a bad or expired token).
    credentials_invalid: bool = False
    #: What the token or session carried besides the user id (e.g. the token's claims).
    claims: dict[str, Any] = field(default_factory=dict)
    #: The id of the presented token (``jti``) or session (``sid``), for revoking it alone.
    credential_id: str | None = None
    #: The user's credentials version the token or session was issued at.
    credentials_version: int | None = None
    #: The verified user, once loaded from the database (``user_loaded``).
    user: Any = None
    user_loaded: bool = False


_request: ContextVar[RequestState | None] = ContextVar("inkwell_request", default=None)
_actor: ContextVar[Actor | None] = ContextVar("inkwell_actor", default=None)


def begin_request(request_id: str) -> Token[RequestState | None]:
    """Open the state of a new request; pass the token to :func:`end_request`."""
    return _request.set(RequestState(request_id))


def end_request(token: Token[RequestState | None]) -> None:
    """Close the request opened with ``token``."""
    _request.reset(token)


def current_request() -> RequestState | None:
    """The state of the request being served, or None outside a request."""
    return _request.get()


def current_request_id() -> str:
    """The id of the request being served, or ``"-"`` outside a request."""
    state = _request.get()
    return state.request_id if state is not None else NO_REQUEST_ID


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Attribute every write inside the block to ``actor`` (a user id or ACTOR_SELF)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    """Who is acting: the innermost :func:`acting_as`, else the system."""
    actor = _actor.get()
    return SYSTEM_ACTOR_ID if actor is None else actor
