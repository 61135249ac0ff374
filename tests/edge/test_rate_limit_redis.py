"""Redis storage in one process: one round trip per request, memory fallback and recovery.

Each test runs its own redis-server (tests.servers.RedisServer), so that it can count the
commands the server received and kill it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from tests.servers import RedisServer, wait_until

pytestmark = pytest.mark.slow

API = "/api/v1/"
UNREACHABLE = "storage unreachable"
RECOVERED = "reachable again"
SCRIPT_COMMANDS = {"incrby", "pttl", "pexpire"}


@pytest.fixture
def redis_server(tmp_path):
    """A private redis-server for one test."""
    with RedisServer(workdir=tmp_path / "redis") as server:
        yield server


@pytest.fixture
def build_app(make_settings, redis_server):
    """Build an app counting in the private Redis (5 requests per hour)."""

    def build(**overrides) -> Flask:
        values = {
            "rate_limit_requests": 5,
            "rate_limit_period": 3600,
            "rate_limit_storage_url": redis_server.url,
        }
        values.update(overrides)
        return create_app(make_settings(**values))

    return build


def command_calls(connection) -> dict[str, int]:
    """How often the server ran each command (INFO commandstats)."""
    stats = connection.info("commandstats")
    return {name.removeprefix("cmdstat_"): entry["calls"] for name, entry in stats.items()}


def log_lines(application: Flask, text: str) -> list[str]:
    """The lines of the app's log file that contain ``text``."""
    path = Path(application.extensions["inkwell.settings"].log_file)
    return [line for line in path.read_text(encoding="utf-8").splitlines() if text in line]


def counter_value(server: RedisServer) -> int:
    """The value of the only rate-limit counter in Redis (0 when there is none)."""
    keys = server.client().keys("LIMITS:*")
    return int(server.client().get(keys[0])) if keys else 0


def send(client, count: int) -> list[int]:
    """Send ``count`` requests to the API root; their statuses."""
    return [client.get(API).status_code for _ in range(count)]


def request_until_counted_in_redis(client, server: RedisServer) -> None:
    """Send requests until one is counted in Redis again (the storage probes once a second)."""

    def counted() -> bool:
        client.get(API)
        return counter_value(server) > 0

    wait_until(counted, timeout=15, what="counting to return to Redis")


def test_counts_live_in_redis(build_app, redis_server):
    client = build_app().test_client()
    send(client, 3)
    assert counter_value(redis_server) == 3


def test_each_request_costs_one_redis_command(build_app, redis_server):
    client = build_app().test_client()
    client.get(API)
    connection = redis_server.client()
    before = command_calls(connection)
    send(client, 4)
    after = command_calls(connection)
    sent = {name: after[name] - before.get(name, 0) for name in after if name != "info"}
    assert sent["evalsha"] == 4
    # The rest ran inside the script, on the server, not as round trips of their own.
    assert {name for name, calls in sent.items() if calls} <= {"evalsha", *SCRIPT_COMMANDS}


def test_headers_match_the_counter_in_redis(build_app, redis_server):
    client = build_app().test_client()
    send(client, 2)
    response = client.get(API)
    key = redis_server.client().keys("LIMITS:*")[0]
    assert response.headers["X-RateLimit-Remaining"] == str(5 - counter_value(redis_server))
    expected_reset = time.time() + redis_server.client().pttl(key) / 1000
    assert abs(int(response.headers["X-RateLimit-Reset"]) - expected_reset) <= 1.5


def test_window_starts_at_the_first_request(build_app, redis_server):
    build_app().test_client().get(API)
    key = redis_server.client().keys("LIMITS:*")[0]
    assert 3590 <= redis_server.client().ttl(key) <= 3600


def test_requests_are_served_while_redis_is_down(build_app, redis_server):
    client = build_app().test_client()
    client.get(API)
    redis_server.kill()
    statuses = send(client, 6)
    assert statuses == [200, 200, 200, 200, 200, 429]


def test_outage_is_logged_once(build_app, redis_server):
    application = build_app()
    client = application.test_client()
    redis_server.kill()
    send(client, 8)
    assert len(log_lines(application, UNREACHABLE)) == 1


def test_health_reports_degraded_while_redis_is_down(build_app, redis_server):
    client = build_app().test_client()
    redis_server.kill()
    response = client.get("/health")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["status"] == "degraded"
    assert data["checks"]["rate_limit_storage"]["status"] == "error"


def test_unreachable_redis_from_the_start_still_serves(make_settings, tmp_path):
    dead = RedisServer(workdir=tmp_path / "never-started")
    client = create_app(make_settings(rate_limit_storage_url=dead.url)).test_client()
    statuses = send(client, 101)
    assert statuses == [200] * 100 + [429]


def test_counting_returns_to_redis_when_it_is_back(build_app, redis_server):
    application = build_app()
    client = application.test_client()
    redis_server.kill()
    client.get(API)
    redis_server.start()
    request_until_counted_in_redis(client, redis_server)
    before = counter_value(redis_server)
    client.get(API)
    assert counter_value(redis_server) == before + 1
    assert len(log_lines(application, RECOVERED)) == 1


def test_limit_is_enforced_from_redis_after_it_returns(build_app, redis_server):
    client = build_app(rate_limit_requests=3).test_client()
    redis_server.kill()
    send(client, 3)
    redis_server.start()
    request_until_counted_in_redis(client, redis_server)
    statuses = send(client, 4 - counter_value(redis_server))
    assert statuses[-1] == 429
    assert counter_value(redis_server) == 4


def test_counting_goes_on_after_redis_forgets_the_script(build_app, redis_server):
    application = build_app()
    client = application.test_client()
    send(client, 2)
    redis_server.client().script_flush()
    assert send(client, 4) == [200, 200, 200, 429]
    assert counter_value(redis_server) == 6
    assert log_lines(application, UNREACHABLE) == []


def test_requests_from_several_threads_are_each_counted_once(build_app, redis_server):
    from concurrent.futures import ThreadPoolExecutor

    application = build_app(rate_limit_requests=1000)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda _: application.test_client().get(API).status_code, range(200))
        )
    assert statuses == [200] * 200
    assert counter_value(redis_server) == 200
