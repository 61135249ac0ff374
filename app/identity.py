"""The verified user of the current request, for the API and the pages alike.

:mod:`app.edge.identity` reads the request's credentials once (token or session); this
module loads the user they name, once per request, and checks that the account is still
active and the credential not revoked. The API's decorators answer 401/403 from it; the
pages use it through :mod:`app.web.session`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from app.edge.identity import resolve_credentials
from app.services import user_service

if TYPE_CHECKING:
    from app.models import User

INVALID_TOKEN_MESSAGE = "Invalid or expired token"
ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def unauthorized(
    message: str = "Authentication required", error: str | None = None
) -> Unauthorized:
    """A 401 carrying ``WWW-Authenticate: Bearer`` (RFC 6750), with the error code if any."""
    challenge = WWWAuthenticate("bearer", {"realm": "api"})
    if error is not None:
        challenge["error"] = error
    return Unauthorized(message, www_authenticate=challenge)


def verified_user() -> User | None:
    """The active user the request's credentials name, loaded once; None if there is none.

    Credentials that are invalid or revoked, or that name a deleted or inactive account,
    give None. The revocation check is part of the one statement that loads the user.
    """
    state = resolve_credentials()
    if not state.user_loaded:
        # Marked first: if the database fails here, the error page asks no second time.
        state.user_loaded = True
        user_id, credential_id = state.claimed_user_id, state.credential_id
        version = state.credentials_version
        if user_id is None or credential_id is None or version is None:
            state.user = None
        else:
            state.user = user_service.get_active_user(
                user_id, credential_id=credential_id, credentials_version=version
            )
    return state.user


def current_user() -> User | None:
    """The API client's user; None without a token, 401 for a token that proves nobody.

    A token that is forged, expired, malformed or names an inactive or deleted user is a
    401 also on endpoints anonymous clients may call: a client that sends a token means
    to be someone.
    """
    state = resolve_credentials()
    if state.credentials != "token":
        return None
    user = verified_user()
    if user is None:
        raise unauthorized(INVALID_TOKEN_MESSAGE, "invalid_token")
    return user


def reject_invalid_token() -> None:
    """Before every API request: a present but invalid token is a 401, whatever the route."""
    state = resolve_credentials()
    if state.credentials == "token":
        current_user()


def require_user(view: ViewT) -> ViewT:
    """Let only requests with a valid bearer token through (401 otherwise)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            raise unauthorized()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_role(role: str) -> Callable[[ViewT], ViewT]:
    """Let only users with ``role`` through: 401 without a valid token, 403 for others."""

    def decorate(view: ViewT) -> ViewT:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                raise unauthorized()
            if user.role != role:
                raise Forbidden(f"This requires the {role} role")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
