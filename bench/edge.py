"""Edge-protection benchmark: Inkwell's full request stack against a bare Flask endpoint.

Starts three gunicorn servers with the project's gunicorn.conf.py and the same worker count:

* ``bare``: a Flask app answering ``GET /api/v1/`` with the same JSON (bench/bare_app.py);
* ``full, memory``: Inkwell's ``GET /api/v1/`` through the whole stack (rate limiter with
  headers, CORS for an allowed Origin, request id, security headers, access log to console
  and file), counting in process memory;
* ``full, redis``: the same, counting in a private redis-server;
* ``full, redis, no metrics``: the same with ``METRICS_ENABLED=false``, so that the cost of
  the Prometheus metrics per request is the ratio of the two redis rows.

Load comes from a second process on loopback (``wrk`` when installed, else a small Python
load generator). The cases take turns for ``--rounds`` rounds; the table shows the median
requests/s, p50 and p99 latency, and the throughput ratio to ``bare``::

    .venv/bin/python -m bench.edge --duration 5 --rounds 5

Every run gets a freshly started server on a port of its own (gunicorn's threaded workers,
as gunicorn.conf.py configures them), and runs stay short, so no run inherits another's
sockets or warm caches.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
PATH = "/api/v1/"
ORIGIN = "https://app.example.com"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Measurement:
    """One load run against one server."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Case:
    """A server under test and its measurements."""

    name: str
    app: str
    environment: dict[str, str]
    port: int = 0
    process: subprocess.Popen | None = None
    runs: list[Measurement] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        """The median of one measured quantity over the rounds."""
        return statistics.median(getattr(run, attribute) for run in self.runs)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout}s")


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A private redis-server without persistence; its process and URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed (or pass --redis-url)")
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process, f"redis://127.0.0.1:{port}/0"


def start_server(case: Case, workers: int, workdir: Path) -> None:
    """Start gunicorn for ``case`` and wait until its workers answer."""
    case.port = free_port()
    environment = {
        **os.environ,
        **case.environment,
        "PYTHONPATH": str(PROJECT_DIR),
        "HOST": "127.0.0.1",
        "PORT": str(case.port),
        "WEB_CONCURRENCY": str(workers),
    }
    output_path = workdir / f"{case.name.replace(', ', '-')}.out"
    command = [str(GUNICORN), "--config", str(PROJECT_DIR / "gunicorn.conf.py"), case.app]
    with output_path.open("ab") as output:
        case.process = subprocess.Popen(
            command, cwd=workdir, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    wait_for_port(case.port)
    for _ in range(workers * 20):  # let every worker import the app before measuring
        request_once(case.port)


def stop_server(case: Case) -> None:
    """Stop the gunicorn of ``case`` if it runs."""
    if case.process is not None and case.process.poll() is None:
        case.process.terminate()
        case.process.wait(timeout=60)
    case.process = None


def request_once(port: int) -> tuple[int, float]:
    """One GET of PATH; the status and the latency in milliseconds."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", PATH, headers={"Origin": ORIGIN})
        response = connection.getresponse()
        response.read()
        status = response.status
    finally:
        connection.close()
    return status, (time.perf_counter() - started) * 1000


def wrk(port: int, duration: float, connections: int) -> Measurement:
    """Load with wrk (two threads)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{round(duration)}s", "--latency"]
    command += ["-H", f"Origin: {ORIGIN}", f"http://127.0.0.1:{port}{PATH}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def latency(percentile: str) -> float:
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert match, output
        return float(match.group(1)) * UNITS[match.group(2)]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+)", output)
    errors = int(failed.group(1)) if failed else 0
    errors += sum(int(count) for count in socket_errors.groups()) if socket_errors else 0
    assert rate, output
    return Measurement(float(rate.group(1)), latency("50"), latency("99"), errors)


def _python_load(arguments: tuple[int, float, int]) -> tuple[int, list[float], int]:
    """Requests from one load process: count, latencies, errors."""
    port, duration, threads = arguments
    deadline = time.monotonic() + duration

    def worker(_: int) -> tuple[list[float], int]:
        latencies, errors = [], 0
        while time.monotonic() < deadline:
            status, elapsed = request_once(port)
            latencies.append(elapsed)
            errors += status != 200
        return latencies, errors

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(worker, range(threads)))
    latencies = [value for part, _ in results for value in part]
    return len(latencies), latencies, sum(errors for _, errors in results)


def python_load(port: int, duration: float, connections: int) -> Measurement:
    """Load from two processes of Python threads, when wrk is not installed."""
    share = max(1, connections // 2)
    with Pool(2) as pool:
        parts = pool.map(_python_load, [(port, duration, share)] * 2)
    latencies = sorted(value for _, part, _ in parts for value in part)
    count = sum(number for number, _, _ in parts)
    return Measurement(
        count / duration,
        latencies[len(latencies) // 2],
        latencies[int(len(latencies) * 0.99)],
        sum(errors for _, _, errors in parts),
    )


def inkwell_environment(workdir: Path, storage_url: str, metrics: bool = True) -> dict[str, str]:
    """Settings of the full-stack servers: a budget that no run exhausts."""
    return {
        "METRICS_ENABLED": "true" if metrics else "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "LOG_FILE": str(workdir / "inkwell.log"),
        "LOG_LEVEL": "INFO",
        "CORS_ORIGINS": ORIGIN,
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_REQUESTS": str(10**9),
        "RATE_LIMIT_PERIOD": "3600",
        "RATE_LIMIT_STORAGE_URL": storage_url,
    }


def print_table(cases: list[Case], workers: int, load: str, connections: int) -> None:
    """The results as a Markdown table.

    The ratio to ``bare`` is the median of the per-round ratios: a case is compared with
    the bare run of its own round, which cancels slow changes in the machine's other load.
    """
    bare = cases[0]
    load_average = os.getloadavg()[0]
    print(
        f"\n{workers} gunicorn workers, {os.cpu_count()} CPUs, {load}, {connections} connections,"
        f" load average {load_average:.1f} at the end"
    )
    print(
        "\n| case | requests/s | p50 ms | p99 ms | vs bare (median) | per-round spread | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        ratios = [
            run.requests_per_second / base.requests_per_second
            for run, base in zip(case.runs, bare.runs, strict=True)
        ]
        print(
            f"| {case.name} | {case.median('requests_per_second'):,.0f} "
            f"| {case.median('p50_ms'):.2f} | {case.median('p99_ms'):.2f} "
            f"| {statistics.median(ratios):.2f}x | {min(ratios):.2f}x-{max(ratios):.2f}x "
            f"| {sum(run.errors for run in case.runs)} |"
        )
    with_metrics, without_metrics = cases[2], cases[3]
    cost = statistics.median(
        1 - on.requests_per_second / off.requests_per_second
        for on, off in zip(with_metrics.runs, without_metrics.runs, strict=True)
    )
    print(f"\nmetrics cost per request (median over rounds): {cost:.1%} of throughput")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per case, taking turns")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--redis-url", help="use this Redis instead of a private redis-server")
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    options = parser.parse_args()
    load = python_load if options.python_load or not shutil.which("wrk") else wrk

    with tempfile.TemporaryDirectory(prefix="inkwell-bench-") as directory:
        workdir = Path(directory)
        redis_process, redis_url = None, options.redis_url
        if redis_url is None:
            redis_process, redis_url = start_redis(workdir)
        cases = [
            Case("bare", "bench.bare_app:app", inkwell_environment(workdir, "memory://")),
            Case("full, memory", "wsgi:app", inkwell_environment(workdir, "memory://")),
            Case("full, redis", "wsgi:app", inkwell_environment(workdir, redis_url)),
            Case(
                "full, redis, no metrics",
                "wsgi:app",
                inkwell_environment(workdir, redis_url, metrics=False),
            ),
        ]
        try:
            for round_number in range(1, options.rounds + 1):
                for case in cases:
                    start_server(case, options.workers, workdir)
                    try:
                        load(case.port, 1, options.connections)  # warm-up
                        run = load(case.port, options.duration, options.connections)
                    finally:
                        stop_server(case)
                    case.runs.append(run)
                    print(
                        f"round {round_number} {case.name}: {run.requests_per_second:,.0f} req/s",
                        file=sys.stderr,
                    )
        finally:
            for case in cases:
                stop_server(case)
            if redis_process is not None:
                redis_process.terminate()
                redis_process.wait(timeout=10)
    print_table(cases, options.workers, load.__name__.replace("_", " "), options.connections)


if __name__ == "__main__":
    main()
