"""Gunicorn settings for production: ``gunicorn wsgi:app`` reads this file from the project folder.

Server settings come from the environment (or ``.env``): ``HOST`` (default 127.0.0.1),
``PORT`` (8000), ``WEB_CONCURRENCY`` (worker processes, default 2 x cores + 1), ``THREADS``
(threads per worker, default 4), ``TIMEOUT`` and ``GRACEFUL_TIMEOUT`` (seconds, default 30).

Workers are threaded (``gthread``): a client that sends its request slowly holds one thread,
not a whole worker, so a handful of slow clients cannot stop the server from answering.
In production, put a buffering reverse proxy (nginx, HAProxy) in front as well. The application's settings are validated here,
in the master, before any worker starts: a bad value stops the whole server with one line and
exit status 1 (also ``gunicorn --check-config wsgi:app``) instead of workers that fail to boot.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config import ConfigurationError, load_settings


def default_workers() -> int:
    """2 x the cores this process may use + 1, gunicorn's rule of thumb for sync workers."""
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


def load_server_settings() -> ServerSettings:
    """Read the server settings; one clear line for a bad value."""
    try:
        return ServerSettings()
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]).upper()
        raise ConfigurationError(f"{key}: {first['msg']} (got {first.get('input')!r})") from None


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
# The application writes one access line per request itself (app/hooks.py).
accesslog = None
# Forwarded headers are trusted only through TRUSTED_PROXY_COUNT (ProxyFix in the app).
forwarded_allow_ips = ""
# Several instances may run on one host; they must not share one control socket path.
control_socket_disable = True
