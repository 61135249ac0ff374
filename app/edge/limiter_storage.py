"""Fixed-window counters for Flask-Limiter: in Redis, or in memory while Redis is away.

:class:`WindowStorage` is a ``limits`` storage registered under its own URL schemes (the
extension point ``limits`` documents): ``inkwell+memory://``, ``inkwell+redis://``,
``inkwell+rediss://``, ``inkwell+redis+unix://``, ``inkwell+redis+sentinel://`` and
``inkwell+redis+cluster://``. Flask-Limiter is handed such a URI and never knows the
difference. The storage

* counts a hit and reads its window in one Redis round trip (:data:`HIT_SCRIPT`, run
  through redis-py's ``Script``, which reloads it after a Redis restart), and answers the
  ``get``/``get_expiry`` that Flask-Limiter sends right after a hit, for the response
  headers, from what that hit returned;
* counts in process memory while Redis is unreachable, with one warning when it goes and
  one when it is back, trying Redis again at most once a second, with short socket
  timeouts and no retries: no request fails or waits long because of Redis.

Redis connections come from the client's own pool, built with redis-py's public API.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import redis
from limits.storage import Storage
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry
from redis.sentinel import Sentinel

from app.metrics import set_limiter_fallback
from config import RATE_LIMIT_STORAGE_SCHEMES

log = logging.getLogger("inkwell.ratelimit")

STORAGE_SCHEME_PREFIX = "inkwell+"
# The prefix limits' own Redis storages use, so that operators find the same keys.
KEY_PREFIX = "LIMITS"
# A Redis that does not answer within this time counts as down; a request never waits longer.
REDIS_TIMEOUT_SECONDS = 0.5
# While Redis is down, one hit per second per process tries it again.
REDIS_PROBE_INTERVAL_SECONDS = 1.0
# How long a thread's last hit of a key answers get()/get_expiry() for that key: long
# enough to cover one request's view, short enough never to stand in for a later request.
HIT_MEMORY_SECONDS = 2.0
# A request hits a handful of limits at most; the per-thread memory holds a few more.
HIT_MEMORY_SIZE = 8
# Errors that mean "Redis is not answering": counting falls back to memory.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)

# Add ``amount`` to a window counter and return the count with the window's remaining
# milliseconds; the first hit (or a key that somehow lost its expiry) starts the window.
HIT_SCRIPT = """
local count = redis.call("INCRBY", KEYS[1], ARGV[2])
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
    redis.call("PEXPIRE", KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

Window = tuple[int, float]  # the count and the reset time (epoch seconds)


class MemoryWindows:
    """Fixed-window counters of this process: for ``memory://`` and while Redis is down.

    An expired window is replaced when it is next hit, and all expired windows are
    dropped once a minute, so the memory stays bounded by the clients of one minute.
    """

    SWEEP_INTERVAL_SECONDS = 60.0

    def __init__(self) -> None:
        self._windows: dict[str, Window] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.time() + self.SWEEP_INTERVAL_SECONDS

    def hit(self, key: str, expiry: int, amount: int) -> Window:
        """Add ``amount`` to the window of ``key``; its count and reset time (epoch seconds)."""
        now = time.time()
        with self._lock:
            count, reset_at = self._windows.get(key, (0, now))
            if reset_at <= now:
                count, reset_at = 0, now + expiry
            count += amount
            self._windows[key] = (count, reset_at)
            if now >= self._next_sweep:
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                self._next_sweep = now + self.SWEEP_INTERVAL_SECONDS
        return count, reset_at

    def window(self, key: str) -> Window:
        """The count and reset time of the window of ``key`` (0 and now when there is none)."""
        now = time.time()
        count, reset_at = self._windows.get(key, (0, now))
        return (count, reset_at) if reset_at > now else (0, now)

    def clear(self, key: str) -> None:
        """Forget the window of ``key``."""
        with self._lock:
            self._windows.pop(key, None)

    def reset(self) -> int:
        """Forget every window; how many there were."""
        with self._lock:
            count, self._windows = len(self._windows), {}
        return count

    def __len__(self) -> int:
        """How many windows are held (expired ones until the next sweep)."""
        return len(self._windows)


class RecentHits(threading.local):
    """What this thread's last hits returned, per key, for the reads that follow them."""

    def __init__(self) -> None:
        self.windows: dict[str, tuple[Window, float, int]] = {}

    def remember(self, key: str, window: Window, generation: int) -> None:
        """Keep the window a hit of ``key`` returned."""
        if len(self.windows) >= HIT_MEMORY_SIZE:
            self.windows.clear()
        self.windows[key] = (window, time.monotonic(), generation)

    def recall(self, key: str, generation: int) -> Window | None:
        """The window this thread's recent hit of ``key`` returned, if there was one."""
        entry = self.windows.get(key)
        if entry is None:
            return None
        window, remembered_at, remembered_generation = entry
        if (
            remembered_generation != generation
            or time.monotonic() - remembered_at > HIT_MEMORY_SECONDS
        ):
            del self.windows[key]
            return None
        return window


def client_options(options: dict[str, Any]) -> dict[str, Any]:
    """redis-py options: short timeouts and no retries unless the caller chose otherwise."""
    return {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), 0),
        **options,
    }


def redis_client_factory(url: str, options: dict[str, Any]) -> Callable[[], Any]:
    """A function building the redis-py client for ``url`` (parsed now, connected later).

    ``redis+sentinel://[:password@]host:port[,host:port]/service_name`` and
    ``redis+cluster://[:password@]host:port[,host:port]`` take the forms ``limits``
    documents; the other schemes are redis-py's own URLs (``redis+unix`` is ``unix``).
    """
    scheme, _, rest = url.partition("://")
    options = client_options(options)
    if scheme in ("redis+sentinel", "redis+cluster"):
        parsed = urllib.parse.urlsplit(url)
        credentials, _, hosts = parsed.netloc.rpartition("@")
        username, _, password = credentials.partition(":")
        auth = {
            name: urllib.parse.unquote(value)
            for name, value in (("username", username), ("password", password))
            if value
        }
        locations = [location_of(host) for host in hosts.split(",") if host.strip()]
        if scheme == "redis+sentinel":
            service = parsed.path.strip("/")
            if not service or not locations:
                raise ValueError("a sentinel URL names host:port[,host:port]/service_name")
            sentinel = Sentinel(
                locations, sentinel_kwargs={**auth, **sentinel_options(options)}, **auth, **options
            )
            return lambda: sentinel.master_for(service)
        if not locations:
            raise ValueError("a cluster URL names host:port[,host:port]")
        nodes = [ClusterNode(host, port) for host, port in locations]
        # The cluster client reads the cluster's layout as it is built: that waits for the
        # first hit, where an unreachable cluster counts as an outage like any other.
        return lambda: RedisCluster(startup_nodes=nodes, **auth, **options)
    if scheme == "redis+unix":
        url = f"unix://{rest}"
    client = redis.Redis.from_url(url, **options)
    return lambda: client


def location_of(host: str) -> tuple[str, int]:
    """``(host, port)`` from ``host:port``."""
    name, _, port = host.strip().rpartition(":")
    if not name or not port.isdigit():
        raise ValueError(f"expected host:port, got {host!r}")
    return name.strip("[]"), int(port)


def sentinel_options(options: dict[str, Any]) -> dict[str, Any]:
    """The timeouts and retries of ``options``, for the connections to the sentinels too."""
    return {
        name: options[name]
        for name in ("socket_connect_timeout", "socket_timeout", "retry")
        if name in options
    }


class WindowStorage(Storage):
    """Fixed-window counters in Redis or in memory, falling back to memory while Redis is down."""

    STORAGE_SCHEME = [STORAGE_SCHEME_PREFIX + scheme for scheme in RATE_LIMIT_STORAGE_SCHEMES]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        """Count for ``uri`` (``inkwell+<scheme>://...``); ``options`` go to redis-py."""
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        target = uri.removeprefix(STORAGE_SCHEME_PREFIX)
        self.uses_redis = not target.startswith("memory://")
        self.memory = MemoryWindows()
        self._recent = RecentHits()
        self._generation = 0
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._client: Any = None
        self._script: Any = None
        self._build_client = redis_client_factory(target, options) if self.uses_redis else None

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Redis errors (they never escape: counting falls back to memory)."""
        return REDIS_ERRORS

    @property
    def is_down(self) -> bool:
        """Whether counting happens in process memory because Redis failed."""
        return self._down_since is not None

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` hits in the window of ``key`` and return the window's count."""
        window = self.hit(key, expiry, amount)
        self._recent.remember(key, window, self._generation)
        return window[0]

    def hit(self, key: str, expiry: int, amount: int = 1) -> Window:
        """Count ``amount`` hits in the window of ``key``; its count and reset time."""
        if self.uses_redis and self._redis_due():
            try:
                count, ttl_ms = self._hit_script()(
                    keys=[prefixed(key)], args=[expiry * 1000, amount]
                )
            except REDIS_ERRORS as error:
                self._redis_failed(error)
            else:
                self._redis_answered()
                return int(count), time.time() + int(ttl_ms) / 1000
        return self.memory.hit(key, expiry, amount)

    def get(self, key: str) -> int:
        """The count in the window of ``key``."""
        return self.window(key)[0]

    def get_expiry(self, key: str) -> float:
        """When the window of ``key`` ends (epoch seconds)."""
        return self.window(key)[1]

    def window(self, key: str) -> Window:
        """The count and reset time of ``key``: from this thread's hit of it just now, if
        there was one, else from the storage."""
        recalled = self._recent.recall(key, self._generation)
        if recalled is not None:
            return recalled
        if not self.uses_redis or self.is_down:
            return self.memory.window(key)
        try:
            client = self._redis()
            with client.pipeline(transaction=False) as pipeline:
                count, ttl_ms = pipeline.get(prefixed(key)).pttl(prefixed(key)).execute()
        except REDIS_ERRORS as error:
            self._redis_failed(error)
            return self.memory.window(key)
        now = time.time()
        return (int(count or 0), now + max(int(ttl_ms), 0) / 1000)

    def check(self) -> bool:
        """Whether Redis answers right now (memory always does)."""
        if not self.uses_redis:
            return True
        try:
            return bool(self._redis().ping())
        except REDIS_ERRORS:
            return False

    def reset(self) -> int | None:
        """Forget every counter."""
        self._generation += 1
        forgotten = self.memory.reset()
        if not self.uses_redis:
            return forgotten
        client = self._redis()
        keys = list(client.scan_iter(match=prefixed("*")))
        for key in keys:
            client.delete(key)
        return len(keys)

    def clear(self, key: str) -> None:
        """Forget the counter of ``key``."""
        self._generation += 1
        self.memory.clear(key)
        if self.uses_redis:
            self._redis().delete(prefixed(key))

    def _redis(self) -> Any:
        """The redis-py client, built on first use."""
        if self._client is None:
            assert self._build_client is not None
            with self._lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def _hit_script(self) -> Any:
        """HIT_SCRIPT registered with the client (redis-py loads it again after NOSCRIPT)."""
        if self._script is None:
            self._script = self._redis().register_script(HIT_SCRIPT)
        return self._script

    def _redis_due(self) -> bool:
        """Use Redis while it is up; while it is down, let one caller per interval try it."""
        if self._down_since is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_probe:
                return False
            self._next_probe = now + REDIS_PROBE_INTERVAL_SECONDS
            return True

    def _redis_failed(self, error: Exception) -> None:
        """Count in memory from now on; warn once per outage."""
        with self._lock:
            self._next_probe = time.monotonic() + REDIS_PROBE_INTERVAL_SECONDS
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        set_limiter_fallback(True)
        log.warning(
            "rate-limit storage unreachable (%s); counting in process memory until it is back",
            error.__class__.__name__,
        )

    def _redis_answered(self) -> None:
        """Count in Redis again after an outage; say so once."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            outage = time.monotonic() - self._down_since
            self._down_since = None
        set_limiter_fallback(False)
        self.memory.reset()
        log.warning(
            "rate-limit storage reachable again after %.1fs; shared counting resumed", outage
        )


def prefixed(key: str) -> str:
    """The Redis key of a limits key."""
    return f"{KEY_PREFIX}:{key}"
