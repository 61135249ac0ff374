"""Passwords, JWT access tokens and who is making the current request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app, g, request, session
from werkzeug.security import check_password_hash, generate_password_hash

TOKEN_ALGORITHM = "HS256"
TOKEN_TYPE = "access"
SESSION_USER_KEY = "user_id"
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
