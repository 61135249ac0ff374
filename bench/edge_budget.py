"""Where a request's time goes: each edge component's cost in microseconds per request.

    .venv/bin/python -m bench.edge_budget                 # rate limit counted in memory
    .venv/bin/python -m bench.edge_budget --redis-url redis://127.0.0.1:6379/6

Builds Inkwell apps that differ by one component at a time and calls each app's WSGI
callable directly (no server, no network), for ``GET /api/v1/`` with an allowed
``Origin``, in interleaved rounds: every variant runs once per round, in turn, so a change
in the machine's other load hits all of them alike. A component's cost is the median, over
rounds, of the difference between the variant with it and the variant before it:

1. bare Flask answering the same JSON (bench/bare_app.py);
2. Inkwell's core: RequestEdge (request id, security headers), routing, the view and the
   envelope, with rate limiting, CORS, metrics and the access line switched off;
3. + the access line (to a log file; console output is dropped here);
4. + Prometheus metrics;
5. + CORS for an allowed origin;
6. + rate limiting, counted in memory, or in Redis with ``--redis-url``.

The limiter is one Flask-Limiter object per process, bound to the newest app's storage, so
the two storages are measured in separate runs.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

ORIGIN = "https://app.example.com"
PATH = "/api/v1/"
SECRET = "bench-edge-budget-secret-key-0123456789abcdef"


def build_apps(workdir: Path, redis_url: str | None) -> list[tuple[str, Callable[..., Any]]]:
    """The variants, each adding one component to the one before."""
    from app import create_app
    from bench.bare_app import app as bare
    from config import Settings

    base = {
        "secret_key": SECRET,
        "database_url": f"sqlite:///{workdir / 'bench.db'}",
        "log_file": str(workdir / "inkwell.log"),
        "rate_limit_requests": 10**9,
        "rate_limit_period": 3600,
    }
    steps = [
        ("core", {"rate_limit_enabled": False, "metrics_enabled": False, "log_level": "WARNING"}),
        ("+ access line", {"rate_limit_enabled": False, "metrics_enabled": False}),
        ("+ metrics", {"rate_limit_enabled": False}),
        ("+ CORS", {"rate_limit_enabled": False, "cors_origins": ORIGIN}),
        (
            f"+ rate limit ({'Redis' if redis_url else 'memory'})",
            {"cors_origins": ORIGIN, "rate_limit_storage_url": redis_url or "memory://"},
        ),
    ]
    apps: list[tuple[str, Callable[..., Any]]] = [("bare Flask", bare.wsgi_app)]
    for name, overrides in steps:
        application = create_app(Settings(_env_file=None, **base, **overrides))
        apps.append((name, application))
    return apps


def timed_requests(application: Callable[..., Any], count: int) -> float:
    """Microseconds per request over ``count`` calls of the WSGI callable."""
    builder = EnvironBuilder(path=PATH, headers={"Origin": ORIGIN})
    environ = builder.get_environ()

    def start_response(_status: str, _headers: list, _exc_info: Any = None) -> None:
        return None

    started = time.perf_counter()
    for _ in range(count):
        body = application(dict(environ), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    """Measure every variant in interleaved rounds and print the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--redis-url", help="count the rate limit in this Redis")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inkwell-budget-") as folder:
        apps = build_apps(Path(folder), options.redis_url)
        # The access line goes to the file handler only: a terminal would measure itself.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                handler.setStream(io.StringIO())
        for _name, application in apps:
            timed_requests(application, 200)  # warm-up: imports, compiled routes, connections
        samples: dict[str, list[float]] = {name: [] for name, _ in apps}
        for _round in range(options.rounds):
            for name, application in apps:
                samples[name].append(timed_requests(application, options.requests))
    names = [name for name, _ in apps]
    print(
        f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"{options.rounds} rounds x {options.requests} requests, GET {PATH} with Origin"
    )
    print("\n| variant | µs per request (median) | spread | component cost µs |")
    print("|---|---:|---:|---:|")
    for index, name in enumerate(names):
        values = samples[name]
        reference = names[max(index - 1, 0)]
        cost = statistics.median(
            value - base for value, base in zip(values, samples[reference], strict=True)
        )
        shown = "-" if index == 0 else f"{cost:+.0f}"
        print(
            f"| {name} | {statistics.median(values):.0f} | {min(values):.0f}-{max(values):.0f} "
            f"| {shown} |"
        )


if __name__ == "__main__":
    main()
