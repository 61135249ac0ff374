"""The limits storage: fixed windows in memory and in Redis, under Inkwell's own URL schemes.

The Redis tests use the Redis of ``TEST_REDIS_URL`` (its database is emptied first).
"""

from __future__ import annotations

import threading
import time

import pytest
import redis
from limits.storage import storage_from_string

import app.edge.limiter_storage
from app import create_app
from app.edge.limiter_storage import MemoryWindows, WindowStorage
from tests.conftest import REDIS_URL, service_missing
from tests.servers import free_port

API = "/api/v1/"
STORAGES = ["memory://", REDIS_URL] if REDIS_URL else ["memory://"]


@pytest.fixture
def clock(monkeypatch):
    """A controllable time.time() for the storage module; starts at 1,000,000 seconds."""

    class Clock:
        now = 1_000_000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(app.edge.limiter_storage.time, "time", lambda: fake.now)
    return fake


@pytest.fixture
def redis_connection():
    """A client of the emptied Redis database of TEST_REDIS_URL."""
    if not REDIS_URL:
        service_missing("Redis at TEST_REDIS_URL")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.flushdb()
    except redis.ConnectionError:
        service_missing("Redis at TEST_REDIS_URL")
    return connection


@pytest.fixture(params=STORAGES, ids=lambda url: url.partition(":")[0])
def storage(request) -> WindowStorage:
    """A storage built from its ``inkwell+`` URI, as Flask-Limiter builds it."""
    if request.param != "memory://":
        request.getfixturevalue("redis_connection")
    return storage_from_string(f"inkwell+{request.param}")


# -- fixed windows in process memory ------------------------------------------------------


def test_hits_in_one_window_add_up(clock):
    windows = MemoryWindows()
    assert [windows.hit("k", 60, 1)[0] for _ in range(3)] == [1, 2, 3]


def test_window_ends_one_period_after_its_first_hit(clock):
    windows = MemoryWindows()
    windows.hit("k", 60, 1)
    clock.advance(10)
    assert windows.hit("k", 60, 1)[1] == 1_000_060.0


def test_hit_after_the_window_ends_starts_a_new_one(clock):
    windows = MemoryWindows()
    windows.hit("k", 60, 5)
    clock.advance(60)
    assert windows.hit("k", 60, 1) == (1, 1_000_120.0)


def test_expired_window_reads_as_empty(clock):
    windows = MemoryWindows()
    windows.hit("k", 60, 1)
    clock.advance(61)
    assert windows.window("k") == (0, clock.now)


def test_keys_count_separately(clock):
    windows = MemoryWindows()
    windows.hit("a", 60, 1)
    assert windows.hit("b", 60, 1)[0] == 1


def test_expired_windows_are_swept_once_a_minute(clock):
    windows = MemoryWindows()
    for number in range(100):
        windows.hit(f"client-{number}", 1, 1)
    clock.advance(MemoryWindows.SWEEP_INTERVAL_SECONDS)
    windows.hit("latest", 60, 1)
    assert len(windows) == 1


def test_budget_returns_when_the_window_ends(make_settings, clock):
    client = create_app(make_settings(rate_limit_requests=2)).test_client()
    assert [client.get(API).status_code for _ in range(3)] == [200, 200, 429]
    clock.advance(60)
    response = client.get(API)
    assert (response.status_code, response.headers["X-RateLimit-Remaining"]) == (200, "1")


# -- the storage, in memory and in Redis --------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "inkwell+memory://",
        "inkwell+redis://127.0.0.1:6379/0",
        "inkwell+rediss://127.0.0.1:6380/0",
        "inkwell+redis+unix:///run/redis.sock",
        "inkwell+redis+sentinel://127.0.0.1:26379/mymaster",
        "inkwell+redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
    ],
)
def test_every_inkwell_scheme_names_the_storage(uri):
    assert isinstance(storage_from_string(uri), WindowStorage)


def test_incr_returns_the_count_of_the_window(storage):
    assert [storage.incr("client", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("client", 60, amount=2) == 5


def test_get_and_expiry_report_the_window_of_the_last_hit(storage):
    started = time.time()
    storage.incr("client", 60)
    storage.incr("client", 60)
    assert storage.get("client") == 2
    assert started + 58 <= storage.get_expiry("client") <= time.time() + 60.5


def test_get_of_a_key_never_hit_is_zero(storage):
    assert storage.get("nobody") == 0


def test_window_read_in_another_thread_comes_from_the_storage(storage):
    storage.incr("client", 60)
    seen = []
    reader = threading.Thread(target=lambda: seen.append(storage.get("client")))
    reader.start()
    reader.join()
    assert seen == [1]


def test_clear_forgets_a_window(storage):
    storage.incr("client", 60)
    storage.clear("client")
    assert storage.get("client") == 0
    assert storage.incr("client", 60) == 1


def test_reset_forgets_every_window(storage):
    storage.incr("a", 60)
    storage.incr("b", 60)
    storage.reset()
    assert (storage.get("a"), storage.get("b")) == (0, 0)


def test_storage_reports_healthy(storage):
    assert storage.check() is True
    assert storage.is_down is False


def test_redis_keeps_the_window_under_the_limits_prefix(redis_connection):
    storage = storage_from_string(f"inkwell+{REDIS_URL}")
    storage.incr("client", 60)
    storage.incr("client", 60)
    assert int(redis_connection.get("LIMITS:client")) == 2
    assert 58_000 <= redis_connection.pttl("LIMITS:client") <= 60_000


def test_window_shared_through_redis_is_seen_by_another_storage(redis_connection):
    first = storage_from_string(f"inkwell+{REDIS_URL}")
    second = storage_from_string(f"inkwell+{REDIS_URL}")
    first.incr("client", 60)
    assert second.incr("client", 60) == 2


def test_a_hit_elsewhere_shows_in_the_next_read_of_another_key(redis_connection):
    storage = storage_from_string(f"inkwell+{REDIS_URL}")
    storage.incr("mine", 60)
    redis_connection.set("LIMITS:theirs", 7, ex=60)
    assert storage.get("theirs") == 7


def test_read_long_after_the_hit_comes_from_redis(redis_connection, monkeypatch):
    storage = storage_from_string(f"inkwell+{REDIS_URL}")
    storage.incr("client", 60)
    redis_connection.incrby("LIMITS:client", 4)  # another worker's hits
    monkeypatch.setattr(app.edge.limiter_storage, "HIT_MEMORY_SECONDS", 0.0)
    assert storage.get("client") == 5


# -- Redis out of reach -------------------------------------------------------------------


@pytest.mark.parametrize(
    "scheme", ["redis://127.0.0.1:{port}/0", "redis+sentinel://127.0.0.1:{port}/mymaster"]
)
def test_unreachable_redis_counts_in_memory(scheme):
    storage = storage_from_string("inkwell+" + scheme.format(port=free_port()))
    assert [storage.incr("client", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("client") == 3
    assert storage.is_down is True
    assert storage.check() is False


def test_unreachable_cluster_counts_in_memory():
    port = free_port()
    storage = storage_from_string(f"inkwell+redis+cluster://127.0.0.1:{port}")
    assert [storage.incr("client", 60) for _ in range(2)] == [1, 2]
    assert storage.is_down is True
