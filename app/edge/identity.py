"""Who a request says it is: the credentials it carries, read once per request.

A request proves a user with an ``Authorization: Bearer`` token (the API) or a signed
session cookie (the pages). :func:`resolve_credentials` reads whichever is present once,
checks its signature and expiry without touching the database, and records the user id it
names in the request's :class:`~app.context.RequestState`, with the credential's own id
and the credentials version it was issued at. The rate limiter keys on that id; views
load and check the user itself (active, not revoked) through :mod:`app.identity`.
"""

from __future__ import annotations

from flask import current_app, request, session

from app.auth import (
    SESSION_ID_KEY,
    SESSION_USER_KEY,
    SESSION_VERSION_KEY,
    TOKEN_ID_CLAIM,
    TOKEN_VERSION_CLAIM,
    InvalidTokenError,
    decode_access_token,
    is_credential_id,
    is_credentials_version,
)
from app.context import RequestState, current_request


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, if one was sent."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _sends_session_cookie() -> bool:
    """Whether the request carries the session cookie (without opening the session)."""
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def resolve_credentials() -> RequestState:
    """The request's state with its credentials read (once per request)."""
    state = current_request()
    if state is None:  # a request served without the edge middleware (never in the app)
        raise RuntimeError("no request state: is the app wrapped in RequestEdge?")
    if state.credentials_resolved:
        return state
    state.credentials_resolved = True
    token = bearer_token()
    if token is not None:
        state.credentials = "token"
        try:
            state.claims = decode_access_token(token)
        except InvalidTokenError:
            state.credentials_invalid = True
        else:
            state.claimed_user_id = int(state.claims["sub"])
            state.credential_id = state.claims[TOKEN_ID_CLAIM]
            state.credentials_version = state.claims[TOKEN_VERSION_CLAIM]
    elif _sends_session_cookie():
        user_id = session.get(SESSION_USER_KEY)
        session_id = session.get(SESSION_ID_KEY)
        version = session.get(SESSION_VERSION_KEY)
        # A session without its id and version was not started by sign_in: it names nobody.
        if (
            isinstance(user_id, int)
            and not isinstance(user_id, bool)
            and is_credential_id(session_id)
            and is_credentials_version(version)
        ):
            state.credentials = "session"
            state.claimed_user_id = user_id
            state.credential_id = session_id
            state.credentials_version = version
    return state


def claimed_user_id() -> int | None:
    """The user id the request's valid credentials name, without a database query."""
    return resolve_credentials().claimed_user_id


def client_address() -> str:
    """The client's address (as ProxyFix left it, honouring TRUSTED_PROXY_COUNT)."""
    return request.remote_addr or "unknown"


def forget_credentials() -> None:
    """Read the credentials afresh next time (after signing in or out)."""
    state = current_request()
    if state is not None:
        state.credentials_resolved = False
        state.credentials = None
        state.claimed_user_id = None
        state.credentials_invalid = False
        state.claims = {}
        state.credential_id = None
        state.credentials_version = None
        state.user = None
        state.user_loaded = False
