"""Who may read /metrics (CONTRACT sections 1 and 5): loopback, METRICS_ALLOW, METRICS_TOKEN."""

from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db as _db
from tests.conftest import reset_schema

TOKEN = "scrape-token-5d1f0c2a9b7e4e8f"
JSON = {"Accept": "application/json"}


@pytest.fixture
def build_app(make_settings):
    """Build an app with extra settings on a fresh SQLite schema; disposed afterwards."""
    built = []

    def build(**overrides):
        """An application with ``overrides``."""
        application = create_app(make_settings(**overrides))
        with application.app_context():
            reset_schema()
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            _db.engine.dispose()


def get_metrics(application, address: str = "127.0.0.1", headers: dict | None = None):
    """GET /metrics from a client at ``address``."""
    return application.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": address}, headers={**JSON, **(headers or {})}
    )


def assert_not_found_envelope(response) -> None:
    """The 404 every unknown path gets: the error envelope with the request id."""
    assert response.status_code == 404
    body = response.get_json()
    assert body == {
        "success": False,
        "message": "Not found",
        "status_code": 404,
        "details": None,
        "request_id": response.headers["X-Request-ID"],
    }
    assert b"inkwell_" not in response.data


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_reads_the_metrics_by_default(build_app, address):
    response = get_metrics(build_app(), address)
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "# TYPE inkwell_http_requests_total counter" in response.get_data(as_text=True)


@pytest.mark.parametrize("address", ["203.0.113.9", "10.0.0.1", "127.0.0.2", "::2", "unknown"])
def test_other_clients_get_the_404_of_an_unknown_path(build_app, address):
    application = build_app()
    assert_not_found_envelope(get_metrics(application, address))
    unknown = application.test_client().get(
        "/no-such-path", environ_base={"REMOTE_ADDR": address}, headers=JSON
    )
    assert unknown.get_json()["message"] == get_metrics(application, address).get_json()["message"]


def test_metrics_allow_names_the_networks_that_may_read(build_app):
    application = build_app(metrics_allow="10.0.0.0/8, 2001:db8::/32")
    assert get_metrics(application, "10.20.30.40").status_code == 200
    assert get_metrics(application, "2001:db8::7").status_code == 200
    assert_not_found_envelope(get_metrics(application, "127.0.0.1"))
    assert_not_found_envelope(get_metrics(application, "11.0.0.1"))


def test_the_token_opens_the_metrics_from_anywhere(build_app):
    application = build_app(metrics_token=TOKEN)
    response = get_metrics(application, "203.0.113.9", {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert b"inkwell_build_info" in response.data


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_a_wrong_token_from_elsewhere_is_404(build_app, authorization):
    application = build_app(metrics_token=TOKEN)
    assert_not_found_envelope(
        get_metrics(application, "203.0.113.9", {"Authorization": authorization})
    )


def test_without_a_configured_token_no_bearer_opens_the_metrics(build_app):
    application = build_app()
    assert_not_found_envelope(get_metrics(application, "203.0.113.9", {"Authorization": "Bearer "}))
    assert_not_found_envelope(
        get_metrics(application, "203.0.113.9", {"Authorization": "Bearer None"})
    )


def test_an_empty_allow_list_leaves_only_the_token(build_app):
    application = build_app(metrics_allow="", metrics_token=TOKEN)
    assert_not_found_envelope(get_metrics(application, "127.0.0.1"))
    response = get_metrics(application, "127.0.0.1", {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200


def test_disabled_metrics_are_an_unknown_path(build_app):
    application = build_app(metrics_enabled=False, metrics_token=TOKEN)
    assert_not_found_envelope(get_metrics(application, "127.0.0.1"))
    assert_not_found_envelope(
        get_metrics(application, "127.0.0.1", {"Authorization": f"Bearer {TOKEN}"})
    )


def test_scrapes_are_not_rate_limited_and_spend_no_budget(build_app):
    application = build_app(rate_limit_requests=2)
    for _ in range(10):
        response = get_metrics(application)
        assert response.status_code == 200
        assert "X-RateLimit-Remaining" not in response.headers
    first = application.test_client().get("/api/v1/posts")
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Remaining"] == "1"


def test_scrapes_are_not_in_the_access_log_at_info(build_app, tmp_path):
    application = build_app(log_level="INFO")
    client = application.test_client()
    client.get("/metrics")
    client.get("/api/v1/posts")
    log = (tmp_path / "logs" / "inkwell.log").read_text()
    assert "GET /api/v1/posts 200" in log
    assert "/metrics" not in log


def test_scrapes_need_no_csrf_token_or_session(build_app):
    response = get_metrics(build_app(), headers={"Cookie": "session=forged"})
    assert response.status_code == 200
