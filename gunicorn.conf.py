"""Gunicorn settings for production: ``gunicorn wsgi:app`` reads this file from the project folder.

Server settings come from the environment (or ``.env``): ``HOST`` (default 127.0.0.1),
``PORT`` (8000), ``WEB_CONCURRENCY`` (worker processes, default 2 x cores + 1), ``THREADS``
(threads per worker, default 4), ``TIMEOUT`` and ``GRACEFUL_TIMEOUT`` (seconds, default 30).

Workers are threaded (``gthread``): a client that sends its request slowly holds one thread,
not a whole worker, so a handful of slow clients cannot stop the server from answering.
In production, put a buffering reverse proxy (nginx, HAProxy) in front as well.

The application's settings are validated here, in the master, before any worker starts: a
bad value stops the whole server with one line and exit status 1 (also
``gunicorn --check-config wsgi:app``) instead of workers that fail to boot.

Prometheus metrics (prometheus-client's multiprocess mode): each worker writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker adds up all of them. The
master empties that directory when it starts (default: a fresh private directory under the
system's temporary folder, removed at exit), and forgets the live gauges of each worker that
exits; the exited worker's counters stay in the sums, and its replacement (a new pid) writes
a file of its own, so nothing is lost or counted twice. Never share one directory between
two servers, and do not ``--preload`` the app: prometheus-client picks its mode when it is
first imported, which must happen in the workers, after the variable is set.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config import ConfigurationError, load_settings


def default_workers() -> int:
    """2 x the cores this process may use + 1: gunicorn's rule of thumb for its workers."""
    return 2 * len(os.sched_getaffinity(0)) + 1


class ServerSettings(BaseSettings):
    """Where and how gunicorn serves; the application's settings live in config.py."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    web_concurrency: int = Field(default_factory=default_workers, ge=1, le=256)
    threads: int = Field(4, ge=1, le=64)
    timeout: int = Field(30, ge=1)
    graceful_timeout: int = Field(30, ge=1)
    prometheus_multiproc_dir: str = ""


def load_server_settings() -> ServerSettings:
    """Read the server settings; one clear line for a bad value."""
    try:
        return ServerSettings()
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]).upper()
        raise ConfigurationError(f"{key}: {first['msg']} (got {first.get('input')!r})") from None


#: The directory of the workers' metric files, chosen in on_starting.
metrics_directory: Path | None = None
#: Whether that directory is the master's own temporary one (removed at exit).
metrics_directory_is_private = False


def prepare_metrics_directory(configured: str) -> tuple[Path, bool]:
    """The configured directory emptied of earlier metric files, or a fresh private one."""
    if not configured:
        return Path(tempfile.mkdtemp(prefix="inkwell-metrics-")), True
    directory = Path(configured)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Files left by an earlier server would add its counts to ours.
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory, False


def on_starting(server) -> None:
    """Before any worker is forked: give the workers an empty metrics directory."""
    global metrics_directory, metrics_directory_is_private
    metrics_directory, metrics_directory_is_private = prepare_metrics_directory(
        server_settings.prometheus_multiproc_dir
    )
    # prometheus-client reads the variable itself, in each worker, when first imported.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_directory)


def child_exit(server, worker) -> None:
    """In the master, after a worker exited: drop its live gauges (its counters stay)."""
    # Imported here, never at the top: importing prometheus-client in the master before
    # on_starting would fix single-process mode for every worker forked from it.
    from prometheus_client import multiprocess

    if metrics_directory is not None:
        multiprocess.mark_process_dead(worker.pid, str(metrics_directory))


def on_exit(server) -> None:
    """As the master stops: remove its private metrics directory."""
    if metrics_directory is not None and metrics_directory_is_private:
        shutil.rmtree(metrics_directory, ignore_errors=True)


def post_worker_init(worker) -> None:
    """Log through the application's logging that a worker has loaded the app and serves."""
    logging.getLogger("inkwell.server").info("worker %s started", worker.pid)


def worker_exit(server, worker) -> None:
    """Log the shutdown line and release database connections as a worker stops."""
    from flask import Flask

    from app.lifecycle import shutdown

    application = getattr(worker, "wsgi", None)
    if isinstance(application, Flask):  # only a worker that loaded the app has one
        logging.getLogger("inkwell.server").info("worker %s exiting", worker.pid)
        shutdown(application)


load_settings()  # a bad application setting stops the master here, before any worker boots
server_settings = load_server_settings()

wsgi_app = "wsgi:app"
host = server_settings.host
bind = [f"[{host}]:{server_settings.port}" if ":" in host else f"{host}:{server_settings.port}"]
workers = server_settings.web_concurrency
worker_class = "gthread"
threads = server_settings.threads
timeout = server_settings.timeout
graceful_timeout = server_settings.graceful_timeout
# The application writes one access line per request itself (app/edge/access_log.py).
accesslog = None
# Forwarded headers are trusted only through TRUSTED_PROXY_COUNT (ProxyFix in the app).
forwarded_allow_ips = ""
# Several instances may run on one host; they must not share one control socket path.
control_socket_disable = True
