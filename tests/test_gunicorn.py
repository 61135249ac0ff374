"""Under real gunicorn: one shared count across workers and hosts with Redis, not with memory."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.servers import Gunicorn, RedisServer, burst, http_request, wait_until

pytestmark = pytest.mark.slow

LIMIT = 20
REQUESTS = 100
API = "/api/v1/"
UNREACHABLE = "rate-limit storage unreachable"


def limited(storage_url: str, **settings: object) -> dict[str, object]:
    """Settings allowing LIMIT requests per hour, counted in ``storage_url``."""
    return {
        "rate_limit_requests": LIMIT,
        "rate_limit_period": 3600,
        "rate_limit_storage_url": storage_url,
        **settings,
    }


def from_client(address: str) -> dict[str, str]:
    """Headers of a request forwarded by one trusted proxy for ``address``."""
    return {"X-Forwarded-For": address}


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory):
    """A private redis-server shared by the tests of this module that do not stop it."""
    with RedisServer(workdir=tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def three_workers(tmp_path_factory, shared_redis):
    """Inkwell with three workers counting in ``shared_redis``, behind one trusted proxy.

    Each test sends its requests for a client address of its own, so it starts from zero.
    """
    settings = limited(shared_redis.url, trusted_proxy_count=1)
    workdir = tmp_path_factory.mktemp("web")
    with Gunicorn(workdir=workdir, workers=3, settings=settings) as server:
        yield server


def test_three_workers_sharing_redis_let_exactly_the_limit_through(three_workers):
    statuses = burst([three_workers.url + API], REQUESTS, headers=from_client("203.0.113.1"))
    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT})


def test_two_hosts_sharing_redis_let_exactly_the_limit_through_in_total(
    tmp_path, shared_redis, three_workers
):
    settings = limited(shared_redis.url, trusted_proxy_count=1)
    with Gunicorn(workdir=tmp_path, workers=2, settings=settings) as second_host:
        urls = [three_workers.url + API, second_host.url + API]
        statuses = burst(urls, REQUESTS, headers=from_client("203.0.113.2"))
    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT})


def test_memory_storage_counts_each_worker_separately(tmp_path):
    with Gunicorn(workdir=tmp_path, workers=3, settings=limited("memory://")) as server:
        statuses = burst([server.url + API], REQUESTS)
    assert set(statuses) == {200, 429}
    assert LIMIT < statuses[200] <= 3 * LIMIT


def test_redis_outage_is_served_without_errors_and_counting_recovers(tmp_path):
    redis_server = RedisServer(workdir=tmp_path / "redis")
    settings = limited(redis_server.url, trusted_proxy_count=1)
    seen: Counter[int] = Counter()
    with redis_server, Gunicorn(workdir=tmp_path / "web", workers=3, settings=settings) as server:
        api = [server.url + API]
        before = burst(api, 40, headers=from_client("203.0.113.1"))
        redis_server.kill()
        during = burst(api, 60, headers=from_client("203.0.113.2"))
        health = http_request(f"{server.url}/health")
        redis_server.start()
        clients = (f"198.51.100.{number}" for number in range(1, 255))

        def shared_again() -> bool:
            after = burst(api, 40, headers=from_client(next(clients)))
            seen.update(after)
            return after[200] == LIMIT

        wait_until(shared_again, timeout=60, what="every worker to count in Redis again")
    assert before == Counter({200: LIMIT, 429: 40 - LIMIT})
    assert set(during) <= {200, 429} and during[200] >= LIMIT
    assert set(seen) <= {200, 429}
    assert (health.status, b'"degraded"' in health.body) == (200, True)
    warnings = (tmp_path / "web" / "inkwell.log").read_text(encoding="utf-8").count(UNREACHABLE)
    assert 1 <= warnings <= 3
