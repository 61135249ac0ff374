"""Failed sign-ins count per targeted account, from every address (AUTH_ACCOUNT_RATE_LIMIT)."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from app import create_app
from tests.api_helpers import assert_error
from tests.conftest import DEFAULT_PASSWORD
from tests.web_helpers import BROWSER

TOKEN = "/api/v1/auth/token"


@pytest.fixture
def locking_app(app, make_settings, database_url) -> Flask:
    """An app allowing 3 failed sign-ins per account per minute, behind one trusted proxy."""
    settings = make_settings(
        database_url=database_url,
        auth_rate_limit="100 per minute",
        auth_account_rate_limit="3 per minute",
        rate_limit_requests=1000,
        trusted_proxy_count=1,
    )
    application = create_app(settings)
    application.config["WTF_CSRF_ENABLED"] = False
    return application


def from_address(number: int) -> dict[str, str]:
    """Headers of a request forwarded for a different client address each time."""
    return {"X-Forwarded-For": f"203.0.113.{number}"}


def attempt(client, username: str, password: str, number: int):
    """One sign-in attempt at the token endpoint from address ``number``."""
    return client.post(
        TOKEN, json={"username": username, "password": password}, headers=from_address(number)
    )


def test_rotating_addresses_do_not_get_past_the_account_limit(locking_app, make_user):
    make_user("victim")
    client = locking_app.test_client()
    statuses = [attempt(client, "victim", "wrong-guess", n).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_past_the_limit_even_the_right_password_is_refused_with_retry_after(locking_app, make_user):
    make_user("victim")
    client = locking_app.test_client()
    for number in range(3):
        attempt(client, "victim", "wrong-guess", number)
    response = attempt(client, "victim", DEFAULT_PASSWORD, 9)
    body = assert_error(response, 429)
    assert "failed sign-ins for this account" in body["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_username_and_email_count_against_the_same_account(locking_app, make_user):
    make_user("victim", email="victim@example.com")
    client = locking_app.test_client()
    attempt(client, "victim", "wrong-guess", 1)
    attempt(client, "VICTIM@example.com", "wrong-guess", 2)
    attempt(client, "Victim", "wrong-guess", 3)
    assert attempt(client, "victim@example.com", "wrong-guess", 4).status_code == 429


def test_another_account_is_untouched(locking_app, make_user):
    make_user("victim")
    make_user("bystander")
    client = locking_app.test_client()
    for number in range(4):
        attempt(client, "victim", "wrong-guess", number)
    response = attempt(client, "bystander", DEFAULT_PASSWORD, 5)
    assert response.status_code == 200


def test_successful_sign_ins_do_not_count(locking_app, make_user):
    make_user("owner")
    client = locking_app.test_client()
    statuses = [attempt(client, "owner", DEFAULT_PASSWORD, n).status_code for n in range(5)]
    assert statuses == [200] * 5


def test_the_login_form_shares_the_account_limit(locking_app, make_user):
    make_user("victim")
    client = locking_app.test_client()
    attempt(client, "victim", "wrong-guess", 1)
    attempt(client, "victim", "wrong-guess", 2)
    form = {"username": "victim", "password": "wrong-guess"}
    first = client.post("/login", data=form, headers={**BROWSER, **from_address(3)})
    assert first.status_code == 422
    locked = client.post("/login", data=form, headers={**BROWSER, **from_address(4)})
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers


def test_a_lockout_is_logged_as_a_warning(locking_app, make_user, caplog):
    make_user("victim")
    client = locking_app.test_client()
    with caplog.at_level(logging.WARNING, logger="inkwell.ratelimit"):
        for number in range(4):
            attempt(client, "victim", "wrong-guess", number)
    assert any("too many failed sign-ins" in record.getMessage() for record in caplog.records)
