"""Accounts and access tokens: register, sign in and out, change the password, who am I."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, url_for

from app.api import bp
from app.auth import create_access_token
from app.edge.identity import resolve_credentials
from app.edge.ratelimit import auth_rate_limited, check_account_sign_ins, record_failed_sign_in
from app.helpers import json_body, optional_json_body, success_response
from app.identity import current_user, require_user, unauthorized
from app.metrics import count_failed_sign_in
from app.openapi import api_operation
from app.schemas import (
    LogoutRequest,
    PasswordChange,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserResponse,
    validate,
)
from app.services import user_service
from app.services.errors import WrongPassword

# One message for an unknown user and a wrong password, so neither can be probed.
BAD_CREDENTIALS = "Invalid username or password"


@bp.post("/auth/register")
@api_operation(
    "Register an account",
    tag="auth",
    body=UserCreate,
    response=UserResponse,
    status=201,
    errors=(409,),
    description="Usernames and emails are unique ignoring case (409 when taken).",
)
@auth_rate_limited
def register() -> Response:
    """Create an account; the password is stored only as a salted hash."""
    payload = validate(UserCreate, json_body())
    user = user_service.register_user(payload.username, payload.email, payload.password)
    return success_response(
        UserResponse.model_validate(user).to_json(),
        "User registered",
        201,
        headers={"Location": url_for("api.user_profile", username=user.username)},
    )


@bp.post("/auth/token")
@api_operation(
    "Exchange a username (or email) and password for an access token",
    tag="auth",
    body=TokenRequest,
    response=TokenResponse,
    errors=(401, 429),
    description=(
        "Use the token as `Authorization: Bearer <access_token>`. Attempts also count "
        "against the stricter AUTH_RATE_LIMIT per client address, and failed ones against "
        "AUTH_ACCOUNT_RATE_LIMIT per targeted account (429 with Retry-After past it)."
    ),
)
@auth_rate_limited
def issue_token() -> Response:
    """A bearer token for valid credentials; the same 401 for any wrong ones."""
    payload = validate(TokenRequest, json_body())
    account = user_service.sign_in_account(payload.username)
    check_account_sign_ins(account)
    user = user_service.authenticate(payload.username, payload.password)
    if user is None:
        record_failed_sign_in(account)
        count_failed_sign_in()
        raise unauthorized(BAD_CREDENTIALS)
    return token_response(user, "Token issued")


def token_response(user, message: str) -> Response:
    """A fresh access token for ``user`` at their current credentials version."""
    token, lifetime = create_access_token(user.id, user.credentials_version)
    return success_response(
        TokenResponse(access_token=token, expires_in=lifetime).to_json(),
        message,
        headers={"Cache-Control": "no-store"},
    )


@bp.post("/auth/logout")
@api_operation(
    "Revoke the presented token, or every token and page session of the user",
    tag="auth",
    body=LogoutRequest,
    body_required=False,
    auth="user",
    description=(
        'Without a body (or with `{"all": false}`) only the presented token ends; with '
        '`{"all": true}` every token and page session of the user ends. At once, on '
        "every worker and host."
    ),
)
@require_user
def logout() -> Response:
    """End the presented token, or with ``all`` every credential of the user."""
    payload = validate(LogoutRequest, optional_json_body())
    user = current_user()
    if payload.all:
        user_service.end_all_credentials(user.id)
        return success_response(None, "Signed out everywhere")
    state = resolve_credentials()
    expires_at = datetime.fromtimestamp(state.claims["exp"], UTC)
    user_service.revoke_credential(state.credential_id, user.id, expires_at)
    return success_response(None, "Signed out")


@bp.post("/auth/password")
@api_operation(
    "Change your password; every other token and page session ends",
    tag="auth",
    body=PasswordChange,
    response=TokenResponse,
    auth="user",
    errors=(403,),
    description=(
        "A wrong `current_password` is 403 (the token is valid; the extra proof is not) "
        "and counts as a failed sign-in of the account. `new_password` follows the "
        "registration rules. Answers a fresh token; every earlier token and page session "
        "of the user ends. Attempts also count against AUTH_RATE_LIMIT per client address "
        "and are refused (429) while the account is past AUTH_ACCOUNT_RATE_LIMIT."
    ),
)
@auth_rate_limited
@require_user
def change_password() -> Response:
    """Check the current password, store the new one and issue a fresh token."""
    payload = validate(PasswordChange, json_body())
    account = user_service.sign_in_account(current_user().username)
    check_account_sign_ins(account)
    try:
        user = user_service.change_password(
            current_user().id, payload.current_password, payload.new_password
        )
    except WrongPassword:
        record_failed_sign_in(account)
        count_failed_sign_in()
        raise
    return token_response(user, "Password changed")


@bp.get("/auth/me")
@api_operation("The current user", tag="auth", response=UserResponse, auth="user")
@require_user
def me() -> Response:
    """The account the bearer token belongs to."""
    return success_response(UserResponse.model_validate(current_user()).to_json())
