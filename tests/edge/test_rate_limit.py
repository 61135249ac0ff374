"""Rate limiting in one process: headers, 429s, exemptions, the sign-in limit and client keys.

The behaviour tests run with memory storage and, when ``TEST_REDIS_URL`` is set, with Redis.
"""

from __future__ import annotations

import time

import pytest
import redis
from flask import Flask

from app import create_app
from app.auth import SESSION_ID_KEY, SESSION_USER_KEY, SESSION_VERSION_KEY, create_access_token
from app.edge.ratelimit import auth_rate_limited
from tests.conftest import REDIS_URL, service_missing

STORAGES = ["memory://", REDIS_URL] if REDIS_URL else ["memory://"]
API = "/api/v1/"
PING = "/test/ping"
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}


@auth_rate_limited
def sign_in_form() -> str:
    """Stands in for the HTML login form."""
    return "signed in"


@auth_rate_limited
def token_endpoint() -> str:
    """Stands in for the API's token endpoint."""
    return "token"


def ping() -> str:
    """A page outside the API: it names no user, so any signed token is taken as it is."""
    return "pong"


@pytest.fixture(params=STORAGES, ids=lambda url: url.partition(":")[0])
def storage_url(request) -> str:
    """The limiter storage of a test: memory, or an emptied Redis database."""
    if request.param != "memory://":
        try:
            redis.Redis.from_url(request.param, socket_connect_timeout=2).flushdb()
        except redis.ConnectionError:
            service_missing("Redis at TEST_REDIS_URL")
    return request.param


@pytest.fixture
def build_app(make_settings, storage_url):
    """Build an app with a small budget (3 per minute) and two sign-in test routes."""

    def build(**overrides) -> Flask:
        values = {
            "rate_limit_requests": 3,
            "rate_limit_period": 60,
            "rate_limit_storage_url": storage_url,
            "auth_rate_limit": "2 per minute",
        }
        values.update(overrides)
        application = create_app(make_settings(**values))
        application.config["WTF_CSRF_ENABLED"] = False
        application.add_url_rule("/test/login", view_func=sign_in_form, methods=["GET", "POST"])
        application.add_url_rule("/test/token", view_func=token_endpoint, methods=["POST"])
        application.add_url_rule("/test/ping", view_func=ping)
        return application

    return build


def token_header(app: Flask, user_id: int) -> dict[str, str]:
    """An Authorization header with a valid access token for ``user_id``."""
    with app.app_context():
        token, _ = create_access_token(user_id)
    return {"Authorization": f"Bearer {token}"}


def spend(client, count: int, path: str = API, **kwargs) -> list[int]:
    """Send ``count`` requests and return their statuses."""
    return [client.get(path, **kwargs).status_code for _ in range(count)]


def test_limited_response_carries_the_limit_headers(build_app):
    client = build_app(rate_limit_requests=5).test_client()
    started = time.time()
    response = client.get(API)
    finished = time.time()
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "4"
    assert started + 60 <= int(response.headers["X-RateLimit-Reset"]) <= finished + 61


def test_remaining_counts_down_with_each_request(build_app):
    client = build_app().test_client()
    remaining = [client.get(API).headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]


def test_successful_response_has_no_retry_after(build_app):
    response = build_app().test_client().get(API)
    assert response.status_code == 200
    assert "Retry-After" not in response.headers


def test_request_over_the_limit_gets_429_in_the_error_envelope(build_app):
    client = build_app().test_client()
    assert spend(client, 3) == [200, 200, 200]
    response = client.get(API, headers={"X-Request-ID": "over-the-limit"})
    assert response.status_code == 429
    body = response.get_json()
    assert body["success"] is False
    assert body["status_code"] == 429
    assert body["message"] == "Too many requests: the limit is 3 per 60 seconds"
    assert body["request_id"] == "over-the-limit"
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_429_carries_retry_after_in_seconds_until_the_window_resets(build_app):
    client = build_app().test_client()
    spend(client, 3)
    response = client.get(API)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert abs(time.time() + retry_after - int(response.headers["X-RateLimit-Reset"])) <= 1


def test_browser_over_the_limit_gets_the_error_page(build_app):
    client = build_app().test_client()
    spend(client, 3, "/no-such-page", headers=HTML)
    response = client.get("/", headers={**HTML, "X-Request-ID": "page-429"})
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Too many requests" in page
    assert "page-429" in page
    assert int(response.headers["Retry-After"]) >= 1


def test_json_client_over_the_limit_on_a_page_gets_the_envelope(build_app):
    client = build_app().test_client()
    spend(client, 3, "/no-such-page", headers=JSON)
    response = client.get("/", headers=JSON)
    assert response.status_code == 429
    assert response.get_json()["status_code"] == 429


def test_one_budget_covers_every_route(build_app):
    client = build_app().test_client()
    statuses = [
        client.get(API).status_code,
        client.get("/api/v1/no-such-thing").status_code,
        client.post("/test/login").status_code,
        client.get("/", headers=HTML).status_code,
    ]
    assert statuses == [200, 404, 200, 429]


def test_requests_to_unknown_routes_count(build_app):
    client = build_app().test_client()
    assert spend(client, 3, "/wp-login.php") == [404, 404, 404]
    assert client.get(API).status_code == 429


def test_disallowed_methods_count(build_app):
    client = build_app().test_client()
    assert [client.delete(API).status_code for _ in range(3)] == [405, 405, 405]
    assert client.get(API).status_code == 429


@pytest.mark.parametrize("path", ["/health", "/health/live", "/static/css/site.css"])
def test_exempt_path_is_served_after_the_budget_is_spent(build_app, path):
    client = build_app().test_client()
    spend(client, 4)
    response = client.get(path)
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize("path", ["/health", "/health/live", "/static/css/site.css"])
def test_exempt_path_does_not_spend_the_budget(build_app, path):
    client = build_app().test_client()
    spend(client, 5, path)
    assert client.get(API).headers["X-RateLimit-Remaining"] == "2"


def test_disabled_limiting_never_answers_429_nor_sends_headers(build_app):
    client = build_app(rate_limit_enabled=False, rate_limit_requests=1).test_client()
    responses = [client.get(API) for _ in range(5)]
    assert [response.status_code for response in responses] == [200] * 5
    assert all("X-RateLimit-Limit" not in response.headers for response in responses)


def test_app_with_limiting_on_after_an_app_with_it_off_is_limited(build_app):
    build_app(rate_limit_enabled=False)
    client = build_app(rate_limit_requests=2).test_client()
    assert spend(client, 3) == [200, 200, 429]


def test_each_new_app_applies_its_own_limit(build_app):
    build_app(rate_limit_requests=2)
    client = build_app(rate_limit_requests=4).test_client()
    assert spend(client, 5) == [200, 200, 200, 200, 429]


def test_sign_in_attempts_beyond_the_auth_limit_get_429(build_app):
    client = build_app(rate_limit_requests=100).test_client()
    statuses = [client.post("/test/login", headers=JSON).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.post("/test/login", headers=JSON)
    assert response.get_json()["message"] == "Too many sign-in attempts: the limit is 2 per minute"
    assert response.headers["X-RateLimit-Limit"] == "2"
    assert int(response.headers["Retry-After"]) >= 1


def test_login_form_and_token_endpoint_share_the_auth_budget(build_app):
    client = build_app(rate_limit_requests=100).test_client()
    statuses = [
        client.post("/test/login").status_code,
        client.post("/test/token").status_code,
        client.post("/test/token").status_code,
    ]
    assert statuses == [200, 200, 429]


def test_showing_the_sign_in_form_does_not_spend_the_auth_budget(build_app):
    client = build_app(rate_limit_requests=100).test_client()
    assert spend(client, 5, "/test/login") == [200] * 5
    assert client.post("/test/login").status_code == 200


def test_auth_limit_leaves_other_routes_alone(build_app):
    client = build_app(rate_limit_requests=100).test_client()
    for _ in range(3):
        client.post("/test/login")
    assert client.get(API).status_code == 200


def test_sign_in_attempts_also_spend_the_application_budget(build_app):
    client = build_app(rate_limit_requests=3, auth_rate_limit="10 per minute").test_client()
    assert [client.post("/test/login").status_code for _ in range(3)] == [200, 200, 200]
    assert client.get(API).status_code == 429


def test_requests_rejected_by_csrf_count(build_app):
    application = build_app(rate_limit_requests=2)
    application.config["WTF_CSRF_ENABLED"] = True
    client = application.test_client()
    assert [client.post("/test/login").status_code for _ in range(3)] == [400, 400, 429]


def test_rate_limited_request_never_reaches_the_view(build_app):
    application = build_app(rate_limit_requests=1)
    calls = []
    application.add_url_rule("/test/count", view_func=lambda: calls.append(1) or "counted")
    client = application.test_client()
    assert spend(client, 3, "/test/count") == [200, 429, 429]
    assert calls == [1]


def test_token_holder_has_a_bucket_of_their_own(build_app):
    application = build_app()
    client = application.test_client()
    spend(client, 3)
    response = client.get(PING, headers=token_header(application, 7))
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "2"


def test_each_user_has_a_bucket_of_their_own(build_app):
    application = build_app()
    client = application.test_client()
    assert spend(client, 4, PING, headers=token_header(application, 1))[-1] == 429
    assert client.get(PING, headers=token_header(application, 2)).status_code == 200


def test_user_keeps_one_bucket_across_client_addresses(build_app):
    application = build_app()
    client = application.test_client()
    headers = token_header(application, 5)
    statuses = [
        client.get(PING, headers=headers, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
        for n in range(1, 5)
    ]
    assert statuses == [200, 200, 200, 429]


def test_invalid_token_counts_against_the_client_address(build_app):
    client = build_app().test_client()
    spend(client, 3)
    response = client.get(API, headers={"Authorization": "Bearer not-a-valid-token"})
    assert response.status_code == 429


def test_signed_in_session_is_keyed_by_its_user(build_app):
    client = build_app().test_client()
    spend(client, 3)
    with client.session_transaction() as session:
        session.update({SESSION_USER_KEY: 11, SESSION_ID_KEY: "a-session", SESSION_VERSION_KEY: 1})
    assert client.get(API).status_code == 200


def test_clients_at_different_addresses_have_separate_buckets(build_app):
    client = build_app().test_client()
    first = spend(client, 4, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    second = spend(client, 1, environ_base={"REMOTE_ADDR": "192.0.2.2"})
    assert (first[-1], second) == (429, [200])
