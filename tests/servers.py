"""Real servers for tests: Inkwell under gunicorn, a private redis-server, Chromium, WSGI threads.

Each helper starts its process or thread on a free loopback port and stops it afterwards
(use them as context managers). A missing ``redis-server`` or ``chromium`` skips the test
locally and fails it in CI (``tests.conftest.service_missing``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from config import Settings
from tests.conftest import TEST_SECRET_KEY, service_missing

PROJECT_DIR = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
GUNICORN_CONF = PROJECT_DIR / "gunicorn.conf.py"
SERVER_KEYS = ("HOST", "PORT", "WEB_CONCURRENCY", "THREADS", "TIMEOUT", "GRACEFUL_TIMEOUT")
SETTINGS_KEYS = tuple(name.upper() for name in Settings.model_fields)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_SECONDS = 30
STARTUP_LINE = " starting: database="
BOOT_LINE = "Booting worker with pid"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class HttpResult:
    """Status, headers and body of one HTTP exchange."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""


def http_request(
    url: str, method: str = "GET", headers: Mapping[str, str] | None = None, timeout: float = 10
) -> HttpResult:
    """One HTTP request with the standard library; error statuses are results, not raises."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResult(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.headers, error.read())


def burst(
    urls: list[str], count: int, headers: Mapping[str, str] | None = None, concurrency: int = 24
) -> Counter[int]:
    """Send ``count`` GETs round-robin over ``urls`` from parallel threads; tally the statuses."""

    def status(number: int) -> int:
        return http_request(urls[number % len(urls)], headers=headers).status

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return Counter(pool.map(status, range(count)))


def _clean_environment() -> dict[str, str]:
    """The current environment without any Inkwell or server setting of the developer's."""
    dropped = set(SETTINGS_KEYS) | set(SERVER_KEYS)
    return {key: value for key, value in os.environ.items() if key.upper() not in dropped}


def inkwell_environment(workdir: Path, **settings: object) -> dict[str, str]:
    """Environment variables for an Inkwell process: test key, SQLite and log file in workdir."""
    values: dict[str, object] = {
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{workdir / 'inkwell.db'}",
        "LOG_FILE": str(workdir / "inkwell.log"),
    }
    values.update({key.upper(): value for key, value in settings.items()})
    return {key: str(value) for key, value in values.items()}


@dataclass
class Gunicorn:
    """Inkwell (``wsgi:app``) under gunicorn with the project's gunicorn.conf.py.

    ``settings`` are Inkwell settings (``rate_limit_requests=5``); the server listens on a
    free loopback port with ``workers`` processes; ``workdir`` holds the database, the log
    file and gunicorn's own output, and is the working directory (so no ``.env`` is read).
    """

    workdir: Path
    workers: int = 3
    settings: dict[str, object] = field(default_factory=dict)
    name: str = "gunicorn"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def output_path(self) -> Path:
        """Where gunicorn's stdout and stderr go."""
        return self.workdir / f"{self.name}.out"

    def output(self) -> str:
        """Everything gunicorn printed so far."""
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def environment(self) -> dict[str, str]:
        """The process environment: clean, plus the settings, port and worker count."""
        environment = _clean_environment()
        environment.update(inkwell_environment(self.workdir, **self.settings))
        environment.update(
            PYTHONPATH=str(PROJECT_DIR),
            HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY=str(self.workers),
            GRACEFUL_TIMEOUT="5",
        )
        return environment

    def command(self, *extra: str) -> list[str]:
        """The gunicorn command line."""
        return [str(GUNICORN), "--config", str(GUNICORN_CONF), *extra, "wsgi:app"]

    def start(self) -> Gunicorn:
        """Start gunicorn; return once every worker has built the app and it answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.output_path.open("ab") as output:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._ready, START_TIMEOUT_SECONDS, f"{self.name} to serve")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited early:\n{self.output()}")
        # Each worker logs Inkwell's start-up line (at INFO) once it has built the application;
        # with a quieter LOG_LEVEL, gunicorn's own line for each worker has to do.
        level = str(self.settings.get("log_level", "INFO")).upper()
        marker = STARTUP_LINE if level in ("DEBUG", "INFO") else BOOT_LINE
        if self.output().count(marker) < self.workers:
            return False
        try:
            return http_request(f"{self.url}/health/live", timeout=1).status == 200
        except OSError:
            return False

    def stop(self) -> int:
        """Stop gunicorn gracefully (SIGTERM), forcefully if it hangs; its exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=5)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_gunicorn(
    workdir: Path,
    *extra: str,
    environment: Mapping[str, str | None] | None = None,
    timeout: float = 30,
    **settings: object,
) -> subprocess.CompletedProcess:
    """Run gunicorn to completion (e.g. ``--check-config``) and capture its output.

    ``environment`` overrides variables of the server's environment; None removes one.
    """
    server = Gunicorn(workdir=workdir, settings=settings)
    workdir.mkdir(parents=True, exist_ok=True)
    variables = server.environment()
    for key, value in (environment or {}).items():
        if value is None:
            variables.pop(key, None)
        else:
            variables[key] = value
    return subprocess.run(
        server.command(*extra),
        cwd=workdir,
        env=variables,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class RedisServer:
    """A private ``redis-server`` without persistence on its own loopback port.

    ``kill()`` simulates a crash (SIGKILL) and ``start()`` brings it back on the same port,
    empty, as a restarted Redis without persistence would be.
    """

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        """A redis-py client of this server."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING."""
        executable = shutil.which("redis-server")
        if executable is None:
            service_missing("redis-server")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                executable,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
                *("--dir", str(self.workdir), "--logfile", ""),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, START_TIMEOUT_SECONDS, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def kill(self) -> None:
        """Kill the server at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def serve_wsgi(application: Callable[..., Any]) -> Iterator[str]:
    """Serve a WSGI application from a thread on a free loopback port; yield its base URL."""
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def static_pages(pages: Mapping[str, str]) -> Callable[..., Any]:
    """A WSGI application answering each path in ``pages`` with that HTML, else 404."""

    @Request.application
    def application(request: Request) -> Response:
        if request.path not in pages:
            return Response("not found", status=404)
        return Response(pages[request.path], mimetype="text/html")

    return application


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (``playwright.sync_api.Browser``)."""
    executable = shutil.which("chromium")
    if executable is None:
        service_missing("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
