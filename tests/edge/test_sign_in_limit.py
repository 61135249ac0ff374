"""The sign-in limit counts per client address, whatever token or session a request carries.

A client that collects tokens or sessions of other accounts (sybils) must not get a fresh
sign-in budget with each of them: AUTH_RATE_LIMIT (3 per minute here) counts attempts at
``/api/v1/auth/token``, ``/login`` and registration per address.
"""

from __future__ import annotations

import pytest
from flask import Flask

from app import create_app
from tests.api_helpers import assert_error, bearer, token_for
from tests.web_helpers import BROWSER, sign_in

TOKEN = "/api/v1/auth/token"
REGISTER = "/api/v1/auth/register"
WRONG = {"username": "victim", "password": "not-the-password"}


@pytest.fixture
def limited_app(app, make_settings, database_url) -> Flask:
    """An app on ``app``'s database with AUTH_RATE_LIMIT of 3 per minute (CSRF off)."""
    settings = make_settings(
        database_url=database_url, auth_rate_limit="3 per minute", rate_limit_requests=100
    )
    application = create_app(settings)
    application.config["WTF_CSRF_ENABLED"] = False
    return application


@pytest.fixture
def sybils(make_user):
    """Four accounts whose credentials one client has collected, and the victim."""
    make_user("victim")
    return [make_user(f"sybil{number}") for number in range(4)]


def test_token_attempts_with_other_users_tokens_share_one_budget(limited_app, sybils):
    client = limited_app.test_client()
    statuses = [
        client.post(TOKEN, json=WRONG, headers=bearer(token_for(limited_app, user))).status_code
        for user in sybils
    ]
    assert statuses == [401, 401, 401, 429]


def test_token_attempt_over_the_limit_names_the_sign_in_limit(limited_app, sybils):
    client = limited_app.test_client()
    for user in sybils[:3]:
        client.post(TOKEN, json=WRONG, headers=bearer(token_for(limited_app, user)))
    response = client.post(TOKEN, json=WRONG, headers=bearer(token_for(limited_app, sybils[3])))
    assert_error(response, 429, "Too many sign-in attempts: the limit is 3 per minute")
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert int(response.headers["Retry-After"]) >= 1


def test_login_attempts_with_other_users_sessions_share_one_budget(limited_app, sybils):
    statuses = []
    for user in sybils:
        client = limited_app.test_client()  # a fresh cookie jar: another session each time
        sign_in(client, user)
        statuses.append(client.post("/login", data=WRONG, headers=BROWSER).status_code)
    assert statuses == [422, 422, 422, 429]


def test_token_and_login_attempts_share_one_budget(limited_app, sybils):
    client = limited_app.test_client()
    statuses = [
        client.post(TOKEN, json=WRONG).status_code,
        client.post("/login", data=WRONG, headers=BROWSER).status_code,
        client.post(TOKEN, json=WRONG).status_code,
        client.post("/login", data=WRONG, headers=BROWSER).status_code,
    ]
    assert statuses == [401, 422, 401, 429]


def test_another_address_has_a_budget_of_its_own(limited_app, sybils):
    client = limited_app.test_client()
    for _ in range(4):
        client.post(TOKEN, json=WRONG)
    response = client.post(TOKEN, json=WRONG, environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert response.status_code == 401


def test_api_registration_is_limited(limited_app):
    client = limited_app.test_client()
    statuses = [
        client.post(
            REGISTER,
            json={
                "username": f"newcomer{number}",
                "email": f"newcomer{number}@example.com",
                "password": "a-long-enough-password",
            },
        ).status_code
        for number in range(4)
    ]
    assert statuses == [201, 201, 201, 429]


def test_registration_form_is_limited(limited_app):
    statuses = []
    for number in range(4):
        response = limited_app.test_client().post(
            "/register",
            data={
                "username": f"reader{number}",
                "email": f"reader{number}@example.com",
                "password": "a-long-enough-password",
                "password_confirm": "a-long-enough-password",
            },
            headers=BROWSER,
        )
        statuses.append(response.status_code)
    assert statuses == [302, 302, 302, 429]


def test_showing_the_forms_does_not_spend_the_budget(limited_app):
    client = limited_app.test_client()
    assert [client.get(path, headers=BROWSER).status_code for path in ["/login"] * 5] == [200] * 5
    assert client.post("/login", data=WRONG, headers=BROWSER).status_code == 422
