"""Proxies: X-Forwarded-For is honoured only for TRUSTED_PROXY_COUNT hops."""

from __future__ import annotations

import pytest
from flask import Flask, request

from app import create_app

API = "/api/v1/"
PROXY = {"REMOTE_ADDR": "10.0.0.1"}


def client_address() -> str:
    """The client address the application sees."""
    return request.remote_addr or "-"


@pytest.fixture
def build_app(make_settings):
    """Build an app with a budget of 2 that reports the client address at /test/client."""

    def build(trusted_proxy_count: int) -> Flask:
        application = create_app(
            make_settings(rate_limit_requests=2, trusted_proxy_count=trusted_proxy_count)
        )
        application.add_url_rule("/test/client", view_func=client_address)
        return application

    return build


def forwarded(chain: str) -> dict[str, str]:
    """An X-Forwarded-For header."""
    return {"X-Forwarded-For": chain}


def test_without_trusted_proxies_forwarded_for_is_ignored(build_app):
    client = build_app(0).test_client()
    response = client.get("/test/client", headers=forwarded("203.0.113.9"), environ_base=PROXY)
    assert response.get_data(as_text=True) == "10.0.0.1"


def test_without_trusted_proxies_a_client_cannot_pick_its_bucket(build_app):
    client = build_app(0).test_client()
    statuses = [
        client.get(API, headers=forwarded(f"203.0.113.{n}"), environ_base=PROXY).status_code
        for n in range(1, 4)
    ]
    assert statuses == [200, 200, 429]


def test_one_trusted_proxy_reveals_the_client_address(build_app):
    client = build_app(1).test_client()
    response = client.get("/test/client", headers=forwarded("203.0.113.9"), environ_base=PROXY)
    assert response.get_data(as_text=True) == "203.0.113.9"


def test_one_trusted_proxy_gives_each_client_its_own_bucket(build_app):
    client = build_app(1).test_client()
    first = [
        client.get(API, headers=forwarded("203.0.113.1"), environ_base=PROXY).status_code
        for _ in range(3)
    ]
    second = client.get(API, headers=forwarded("203.0.113.2"), environ_base=PROXY).status_code
    assert (first, second) == ([200, 200, 429], 200)


def test_addresses_a_client_prepends_are_not_trusted(build_app):
    client = build_app(1).test_client()
    statuses = [
        client.get(
            API, headers=forwarded(f"198.51.100.{n}, 203.0.113.1"), environ_base=PROXY
        ).status_code
        for n in range(1, 4)
    ]
    assert statuses == [200, 200, 429]


def test_two_trusted_proxies_use_the_address_before_them(build_app):
    client = build_app(2).test_client()
    response = client.get(
        "/test/client",
        headers=forwarded("198.51.100.7, 203.0.113.9, 10.0.0.2"),
        environ_base=PROXY,
    )
    assert response.get_data(as_text=True) == "203.0.113.9"


def test_access_log_names_the_forwarded_client(build_app):
    application = build_app(1)
    application.test_client().get(API, headers=forwarded("203.0.113.9"), environ_base=PROXY)
    log_file = application.extensions["inkwell.settings"].log_file
    with open(log_file, encoding="utf-8") as handle:
        access = [line for line in handle if "inkwell.access" in line]
    assert "client=203.0.113.9" in access[-1]
