"""Passwords, JWT access tokens and who is making the current request."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import jwt
from flask import current_app, g, request, session
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized
from werkzeug.security import check_password_hash, generate_password_hash

if TYPE_CHECKING:
    from app.models import User

TOKEN_ALGORITHM = "HS256"
TOKEN_TYPE = "access"
SESSION_USER_KEY = "user_id"
INVALID_TOKEN_MESSAGE = "Invalid or expired token"
ViewT = TypeVar("ViewT", bound=Callable[..., Any])
# A hash of a random password: checked when the user is unknown, so that an unknown
# username costs the same time as a wrong password.
_DUMMY_HASH_PASSWORD = "timing-equaliser-not-a-real-password"


class InvalidTokenError(Exception):
    """The bearer token is missing, malformed, forged or expired."""


def hash_password(password: str) -> str:
    """A strong salted hash (scrypt) of ``password``."""
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; constant work when there is no hash."""
    if not password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


def _dummy_hash() -> str:
    cached = current_app.extensions.get("inkwell.dummy_hash")
    if cached is None:
        cached = hash_password(_DUMMY_HASH_PASSWORD)
        current_app.extensions["inkwell.dummy_hash"] = cached
    return cached


def create_access_token(user_id: int) -> tuple[str, int]:
    """A signed access token for ``user_id`` and its lifetime in seconds."""
    settings = current_app.extensions["inkwell.settings"]
    lifetime = settings.access_token_expire_minutes * 60
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "type": TOKEN_TYPE,
        "iat": now,
        "exp": now + timedelta(seconds=lifetime),
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=TOKEN_ALGORITHM)
    return token, lifetime


def decode_access_token(token: str) -> int:
    """The user id a valid token was issued to; InvalidTokenError for anything else."""
    settings = current_app.extensions["inkwell.settings"]
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["sub", "exp", "iat", "type"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from None
    if claims.get("type") != TOKEN_TYPE:
        raise InvalidTokenError("not an access token")
    subject = claims["sub"]
    if not (isinstance(subject, str) and subject.isdigit()):
        raise InvalidTokenError("malformed subject")
    return int(subject)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, if one was sent."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def claimed_user_id() -> int | None:
    """The user id a request proves with a valid token or signed session, without a query.

    Used where a database round trip is too costly (rate-limit keys); views that act for
    a user still load and check the user.
    """
    if "claimed_user_id" in g:
        return g.claimed_user_id
    user_id = None
    token = bearer_token()
    if token is not None:
        try:
            user_id = decode_access_token(token)
        except InvalidTokenError:
            user_id = None
    elif SESSION_USER_KEY in session:
        value = session.get(SESSION_USER_KEY)
        user_id = value if isinstance(value, int) else None
    g.claimed_user_id = user_id
    return user_id


def unauthorized(
    message: str = "Authentication required", error: str | None = None
) -> Unauthorized:
    """A 401 carrying ``WWW-Authenticate: Bearer`` (RFC 6750), with the error code if any."""
    challenge = WWWAuthenticate("bearer", {"realm": "api"})
    if error is not None:
        challenge["error"] = error
    return Unauthorized(message, www_authenticate=challenge)


def current_user() -> User | None:
    """The active user proven by the request's bearer token; None without a token.

    A token that is forged, expired, malformed or names an inactive or deleted user is
    a 401, also on endpoints that anonymous clients may call: a client that sends a
    token means to be someone. The user's id goes into ``g.user_id``, the actor of
    every audited write of the request.
    """
    if "current_user" in g:
        return g.current_user
    token = bearer_token()
    user = None
    if token is not None:
        try:
            user_id = decode_access_token(token)
        except InvalidTokenError:
            raise unauthorized(INVALID_TOKEN_MESSAGE, "invalid_token") from None
        from app.services.user_service import get_active_user  # it imports this module

        user = get_active_user(user_id)
        if user is None:
            raise unauthorized(INVALID_TOKEN_MESSAGE, "invalid_token")
        g.user_id = user.id
    g.current_user = user
    return user


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
