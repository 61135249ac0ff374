"""Fixed windows in process memory: counting, expiry and the periodic sweep."""

from __future__ import annotations

import pytest

import app.ratelimit
from app import create_app
from app.ratelimit import MemoryWindows

API = "/api/v1/"


@pytest.fixture
def clock(monkeypatch):
    """A controllable time.time() for app.ratelimit; starts at 1,000,000 seconds."""

    class Clock:
        now = 1_000_000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(app.ratelimit.time, "time", lambda: fake.now)
    return fake


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
