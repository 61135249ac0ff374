"""Accounts and access tokens: register, exchange credentials for a token, who am I."""

from __future__ import annotations

from flask import Response, url_for

from app.api import bp
from app.auth import create_access_token
from app.edge.ratelimit import auth_rate_limited, check_account_sign_ins, record_failed_sign_in
from app.helpers import json_body, success_response
from app.identity import current_user, require_user, unauthorized
from app.metrics import count_failed_sign_in
from app.openapi import api_operation
from app.schemas import TokenRequest, TokenResponse, UserCreate, UserResponse, validate
from app.services import user_service

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
    token, lifetime = create_access_token(user.id)
    return success_response(
        TokenResponse(access_token=token, expires_in=lifetime).to_json(),
        "Token issued",
        headers={"Cache-Control": "no-store"},
    )


@bp.get("/auth/me")
@api_operation("The current user", tag="auth", response=UserResponse, auth="user")
@require_user
def me() -> Response:
    """The account the bearer token belongs to."""
    return success_response(UserResponse.model_validate(current_user()).to_json())
