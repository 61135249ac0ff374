"""What /metrics says after known requests: route templates, statuses, durations, counts."""

from __future__ import annotations

import re
import subprocess

import pytest

from app import create_app
from app.extensions import db as _db
from app.metrics import DURATION_BUCKETS, UNMATCHED_ROUTE, set_limiter_fallback
from app.models.audit_event import chain_head
from tests.api_helpers import bearer, token_for
from tests.conftest import DEFAULT_PASSWORD, reset_schema
from tests.metrics.conftest import Samples
from tests.servers import RedisServer, free_port, wait_until
from tests.web_helpers import submit

POST_ROUTE = "/api/v1/posts/<id:post_id>"
REQUESTS = "inkwell_http_requests_total"
DURATION = "inkwell_http_request_duration_seconds"


def requests_delta(after: Samples, before: Samples, route: str, status: int, method="GET"):
    """How many requests to ``route`` answered ``status`` between the two scrapes."""
    return after.delta(before, REQUESTS, method=method, route=route, status=str(status))


def test_requests_are_counted_under_their_route_template(client, scrape, make_post):
    post = make_post()
    before = scrape()
    assert client.get(f"/api/v1/posts/{post.id}").status_code == 200
    for missing in (post.id + 1, post.id + 2, 987654):
        assert client.get(f"/api/v1/posts/{missing}").status_code == 404
    after = scrape()
    assert requests_delta(after, before, POST_ROUTE, 200) == 1
    assert requests_delta(after, before, POST_ROUTE, 404) == 3
    routes = after.label_values(REQUESTS, "route")
    assert not [route for route in routes if re.search(r"/posts/\d", route)]


def test_unknown_paths_share_one_label(client, scrape):
    before = scrape()
    for path in ("/wp-admin.php", "/a/b/c", "/.env", "/api/v1/nothing"):
        assert client.get(path).status_code == 404
    after = scrape()
    assert requests_delta(after, before, UNMATCHED_ROUTE, 404) == 4
    routes = after.label_values(REQUESTS, "route")
    assert not {"/wp-admin.php", "/a/b/c", "/.env", "/api/v1/nothing"} & routes


def test_unknown_methods_are_counted_as_other(client, scrape):
    before = scrape()
    response = client.open("/api/v1/posts", method="BREW")
    after = scrape()
    assert requests_delta(after, before, UNMATCHED_ROUTE, response.status_code, "OTHER") == 1
    assert "BREW" not in after.label_values(REQUESTS, "method")


def test_scrapes_themselves_are_not_counted(scrape):
    before = scrape()
    scrape()
    after = scrape()
    assert "/metrics" not in after.label_values(REQUESTS, "route")
    assert after.value(REQUESTS, method="GET", route="/metrics", status="200") == 0
    assert before.types["inkwell_http_requests"] == "counter"


def test_each_request_is_observed_in_the_duration_histogram(client, scrape):
    before = scrape()
    for _ in range(3):
        client.get("/api/v1/posts")
    after = scrape()
    labels = {"method": "GET", "route": "/api/v1/posts"}
    assert after.delta(before, f"{DURATION}_count", **labels) == 3
    assert after.delta(before, f"{DURATION}_sum", **labels) > 0
    bounds = [float(b) for b in after.label_values(f"{DURATION}_bucket", "le") if b != "+Inf"]
    assert sorted(bounds) == list(DURATION_BUCKETS)
    assert after.delta(before, f"{DURATION}_bucket", le="+Inf", **labels) == 3
    cumulative = [after.value(f"{DURATION}_bucket", le=str(b), **labels) for b in DURATION_BUCKETS]
    assert cumulative == sorted(cumulative)
    assert after.types[DURATION] == "histogram"


def test_wrong_passwords_count_as_failed_sign_ins(app, client, scrape, make_user):
    user = make_user("signer")
    before = scrape()
    bad = {"username": "signer", "password": "not-the-password"}
    assert client.post("/api/v1/auth/token", json=bad).status_code == 401
    unknown = {"username": "nobody-here", "password": "whatever-it-is"}
    assert client.post("/api/v1/auth/token", json=unknown).status_code == 401
    assert submit(client, "/login", "/login", bad).status_code == 422
    good = {"username": "signer", "password": DEFAULT_PASSWORD}
    assert client.post("/api/v1/auth/token", json=good).status_code == 200
    after = scrape()
    assert after.delta(before, "inkwell_failed_sign_ins_total") == 3
    assert user.username == "signer"


@pytest.fixture
def limited_app(make_settings):
    """An app allowing 3 requests per client and 2 sign-in attempts per address."""
    application = create_app(
        make_settings(rate_limit_requests=3, rate_limit_period=3600, auth_rate_limit="2 per hour")
    )
    with application.app_context():
        reset_schema()
    yield application
    with application.app_context():
        _db.engine.dispose()


def scrape_app(application) -> Samples:
    """Scrape ``application`` from loopback."""
    response = application.test_client().get("/metrics")
    assert response.status_code == 200
    return Samples(response.get_data(as_text=True))


def test_application_limit_rejections_are_counted(limited_app):
    client = limited_app.test_client()
    before = scrape_app(limited_app)
    statuses = [client.get("/api/v1/posts").status_code for _ in range(5)]
    after = scrape_app(limited_app)
    assert statuses == [200, 200, 200, 429, 429]
    assert requests_delta(after, before, "/api/v1/posts", 429) == 2
    rejections = "inkwell_rate_limit_rejections_total"
    assert after.delta(before, rejections, scope="application") == 2
    assert after.delta(before, rejections, scope="sign-in") == 0


def test_sign_in_limit_rejections_are_counted(limited_app):
    client = limited_app.test_client()
    before = scrape_app(limited_app)
    attempt = {"username": "someone", "password": "wrong-password"}
    statuses = [client.post("/api/v1/auth/token", json=attempt).status_code for _ in range(3)]
    after = scrape_app(limited_app)
    assert statuses == [401, 401, 429]
    rejections = "inkwell_rate_limit_rejections_total"
    assert after.delta(before, rejections, scope="sign-in") == 1
    assert after.delta(before, rejections, scope="application") == 0


def test_account_limit_rejections_are_counted(make_settings):
    application = create_app(
        make_settings(auth_rate_limit="100 per hour", auth_account_rate_limit="2 per hour")
    )
    with application.app_context():
        reset_schema()
    client = application.test_client()
    before = scrape_app(application)
    attempt = {"username": "targeted-account", "password": "wrong-password"}
    statuses = [client.post("/api/v1/auth/token", json=attempt).status_code for _ in range(3)]
    after = scrape_app(application)
    with application.app_context():
        _db.engine.dispose()
    assert statuses == [401, 401, 429]
    rejections = "inkwell_rate_limit_rejections_total"
    assert after.delta(before, rejections, scope="account") == 1
    assert after.delta(before, rejections, scope="sign-in") == 0
    assert after.delta(before, "inkwell_failed_sign_ins_total") == 2


def test_every_rejection_scope_is_exposed_from_the_start(scrape):
    samples = scrape()
    for scope in ("application", "sign-in", "account"):
        assert ("inkwell_rate_limit_rejections_total", frozenset({("scope", scope)})) in (
            samples.values
        )


def test_the_limiter_fallback_gauge_follows_the_storage(make_settings, tmp_path):
    redis_server = RedisServer(workdir=tmp_path / "redis", port=free_port())
    application = create_app(
        make_settings(rate_limit_storage_url=redis_server.url, rate_limit_requests=1000)
    )
    with application.app_context():
        reset_schema()
    client = application.test_client()
    gauge = "inkwell_rate_limit_storage_fallback"
    set_limiter_fallback(False)  # one gauge per process: start from a known state
    try:
        client.get("/api/v1/posts")  # Redis is not running yet: counting falls back
        assert scrape_app(application).value(gauge) == 1
        redis_server.start()
        wait_until(
            lambda: client.get("/api/v1/posts") and scrape_app(application).value(gauge) == 0,
            10,
            "counting in Redis again",
        )
    finally:
        redis_server.stop()
        with application.app_context():
            _db.engine.dispose()


def test_pool_gauges_count_checked_out_connections(app, scrape):
    in_use, overflow = "inkwell_db_pool_connections_in_use", "inkwell_db_pool_overflow_connections"
    with app.app_context():
        size = _db.engine.pool.size()
        before = scrape()
        held = [_db.engine.connect() for _ in range(size + 2)]
        during = scrape()
        for connection in held:
            connection.close()
        after = scrape()
    assert during.delta(before, in_use) == size + 2
    assert during.delta(before, overflow) == 2
    assert after.value(in_use) == before.value(in_use)
    assert after.value(overflow) == before.value(overflow)


def test_audit_events_appended_is_the_chain_head(app, scrape, make_post, make_comment):
    make_comment(make_post())
    with app.app_context(), _db.engine.connect() as connection:
        head_id, _ = chain_head(connection)
    first = scrape()
    assert head_id >= 3  # the users, the post and the comment
    assert first.value("inkwell_audit_events_appended_total") == head_id
    make_post()
    assert scrape().delta(first, "inkwell_audit_events_appended_total") == 2  # user + post


def test_build_info_names_the_app_and_version(make_settings):
    application = create_app(make_settings(app_name="Observed Inkwell", app_version="9.8.7"))
    samples = scrape_app(application)
    assert samples.value("inkwell_build_info", app="Observed Inkwell", version="9.8.7") == 1
    assert samples.types["inkwell_build_info"] == "gauge"


def test_promtool_accepts_the_exposition(client, scrape, promtool, make_post):
    post = make_post()
    client.get(f"/api/v1/posts/{post.id}")
    client.get("/no/such/page")
    client.post("/api/v1/auth/token", json={"username": "x" * 5, "password": "y" * 10})
    text = scrape().text
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_token_requests_count_like_any_other(app, client, scrape, make_user):
    user = make_user()
    before = scrape()
    client.get("/api/v1/auth/me", headers=bearer(token_for(app, user)))
    after = scrape()
    assert requests_delta(after, before, "/api/v1/auth/me", 200) == 1
