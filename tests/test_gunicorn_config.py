"""gunicorn.conf.py: settings from the environment, bad values stop the server, clean shutdown."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.servers import GUNICORN_CONF, Gunicorn, run_gunicorn

SERVER_KEYS = ("HOST", "PORT", "WEB_CONCURRENCY", "THREADS", "TIMEOUT", "GRACEFUL_TIMEOUT")


@pytest.fixture
def read_conf(monkeypatch, tmp_path):
    """Execute gunicorn.conf.py as gunicorn does, with the given environment variables."""

    def read(**environment: str) -> dict:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "path", list(sys.path))
        for key in SERVER_KEYS:
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        return runpy.run_path(str(GUNICORN_CONF))

    return read


def test_server_settings_come_from_the_environment(read_conf):
    conf = read_conf(HOST="0.0.0.0", PORT="8123", WEB_CONCURRENCY="7", TIMEOUT="45")
    assert (conf["bind"], conf["workers"], conf["timeout"]) == (["0.0.0.0:8123"], 7, 45)


def test_graceful_timeout_comes_from_the_environment(read_conf):
    assert read_conf(GRACEFUL_TIMEOUT="12")["graceful_timeout"] == 12


def test_ipv6_host_is_bracketed(read_conf):
    assert read_conf(HOST="::1", PORT="9000")["bind"] == ["[::1]:9000"]


def test_server_defaults_to_loopback_port_8000(read_conf):
    assert read_conf()["bind"] == ["127.0.0.1:8000"]


def test_workers_default_to_twice_the_cores_plus_one(read_conf):
    assert read_conf()["workers"] == 2 * len(os.sched_getaffinity(0)) + 1


def test_forwarded_headers_are_left_to_the_application(read_conf):
    assert read_conf()["forwarded_allow_ips"] == ""


def test_application_writes_the_access_log(read_conf):
    assert read_conf()["accesslog"] is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("environment", "key"),
    [
        ({"RATE_LIMIT_REQUESTS": "0"}, "RATE_LIMIT_REQUESTS"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY"),
        ({"PORT": "http"}, "PORT"),
    ],
)
def test_bad_setting_stops_the_server_with_one_line(tmp_path, environment, key):
    result = run_gunicorn(tmp_path, environment=environment)
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Configuration error: {key}")
    assert not (tmp_path / "inkwell.log").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("environment", "key"),
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"RATE_LIMIT_STORAGE_URL": "mongodb://db"}, "RATE_LIMIT_STORAGE_URL"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
    ],
)
def test_check_config_reports_a_bad_setting(tmp_path, environment, key):
    result = run_gunicorn(tmp_path, "--check-config", environment=environment)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"Configuration error: {key}")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_check_config_passes_good_settings(tmp_path):
    result = run_gunicorn(tmp_path, "--check-config")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_error_line_never_shows_the_secret_key(tmp_path):
    result = run_gunicorn(tmp_path, environment={"SECRET_KEY": "short-secret-value"})
    assert "short-secret-value" not in result.stdout + result.stderr


@pytest.mark.slow
def test_each_worker_logs_start_up_and_shutdown(tmp_path):
    server = Gunicorn(workdir=tmp_path, workers=2, settings={"secret_key": TEST_SECRET_KEY})
    with server:
        pass
    assert server.process.returncode == 0
    lines = Path(tmp_path / "inkwell.log").read_text(encoding="utf-8").splitlines()
    assert len([line for line in lines if " starting: database=sqlite" in line]) == 2
    assert len([line for line in lines if "shut down; database connections released" in line]) == 2
