"""METRICS_ENABLED, METRICS_ALLOW and METRICS_TOKEN: defaults, parsing, one line when bad."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import SECRET_BEARING_KEYS, ConfigurationError, load_settings
from tests.conftest import TEST_SECRET_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch):
    """Every test here starts from valid settings."""
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)


def test_defaults_match_the_contract():
    settings = load_settings(_env_file=None)
    assert settings.metrics_enabled is True
    assert settings.metrics_allow == "127.0.0.1/32,::1/128"
    assert settings.metrics_token is None


def test_values_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("METRICS_ENABLED", "false")
    monkeypatch.setenv("METRICS_ALLOW", "10.0.0.0/8, 2001:db8::/32")
    monkeypatch.setenv("METRICS_TOKEN", "scrape-token-0123456789")
    settings = load_settings(_env_file=None)
    assert settings.metrics_enabled is False
    assert settings.metrics_allow == "10.0.0.0/8, 2001:db8::/32"
    assert settings.metrics_token.get_secret_value() == "scrape-token-0123456789"
    assert "scrape-token-0123456789" not in repr(settings)


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_token_means_no_token(monkeypatch, value):
    monkeypatch.setenv("METRICS_TOKEN", value)
    assert load_settings(_env_file=None).metrics_token is None


@pytest.mark.parametrize("value", ["", "192.168.1.7", "10.1.2.3/8", "::1", "10.0.0.0/8,,"])
def test_hosts_empty_lists_and_host_bits_are_accepted(monkeypatch, value):
    monkeypatch.setenv("METRICS_ALLOW", value)
    assert load_settings(_env_file=None).metrics_allow == value


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("localhost", "'localhost'"),
        ("10.0.0.0/33", "'10.0.0.0/33'"),
        ("127.0.0.1/32, 300.1.1.1", "'300.1.1.1'"),
        ("10.0.0.0/8;192.168.0.0/16", "'10.0.0.0/8;192.168.0.0/16'"),
    ],
)
def test_a_bad_network_stops_start_up_with_one_line_naming_it(monkeypatch, value, named):
    monkeypatch.setenv("METRICS_ALLOW", value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith("Configuration error: METRICS_ALLOW: ")
    assert f"{named} is not a network such as 10.0.0.0/8" in message
    assert "\n" not in message


def test_bad_metrics_enabled_is_named(monkeypatch):
    monkeypatch.setenv("METRICS_ENABLED", "perhaps")
    with pytest.raises(ConfigurationError, match=r"^Configuration error: METRICS_ENABLED: "):
        load_settings(_env_file=None)


def test_the_token_counts_as_a_secret():
    assert "METRICS_TOKEN" in SECRET_BEARING_KEYS


def test_a_bad_network_exits_the_process_non_zero_with_one_line():
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "SECRET_KEY": TEST_SECRET_KEY,
            "METRICS_ALLOW": "everyone",
            "LOG_FILE": "",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "Configuration error: METRICS_ALLOW: 'everyone' is not a network such as 10.0.0.0/8 "
        "(got 'everyone')"
    ]
