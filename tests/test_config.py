"""Settings: defaults, environment and .env, and one clear line for every bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigurationError, Settings, get_cors_origins, load_settings
from tests.conftest import TEST_SECRET_KEY

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_defaults_match_the_contract():
    settings = Settings(_env_file=None, secret_key=TEST_SECRET_KEY)
    assert settings.app_name == "Inkwell"
    assert settings.debug is False
    assert settings.database_url.startswith("sqlite:///") and "instance" in settings.database_url
    assert settings.cors_origin_list == []
    assert settings.log_level == "INFO"
    assert settings.log_file == "logs/inkwell.log"
    assert settings.log_format == "text"
    assert settings.rate_limit_enabled is True
    assert (settings.rate_limit_requests, settings.rate_limit_period) == (100, 60)
    assert settings.rate_limit_storage_url == "memory://"
    assert settings.auth_rate_limit == "5 per minute"
    assert settings.access_token_expire_minutes == 30
    assert settings.trusted_proxy_count == 0
    assert settings.max_content_length == 1048576


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("RATE_LIMIT_REQUESTS", "abc", "valid integer"),
        ("RATE_LIMIT_REQUESTS", "0", "greater than or equal to 1"),
        ("RATE_LIMIT_PERIOD", "-5", "greater than or equal to 1"),
        ("LOG_LEVEL", "LOUD", "'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"),
        ("LOG_FORMAT", "xml", "'text' or 'json'"),
        ("RATE_LIMIT_ENABLED", "maybe", "valid boolean"),
        ("DEBUG", "sometimes", "valid boolean"),
        ("DATABASE_URL", "not a url", "not a valid database URL"),
        ("DATABASE_URL", "mysql://u@h/db", "postgresql:// or sqlite://"),
        ("RATE_LIMIT_STORAGE_URL", "memcached://x", "memory:// or a redis:// URL"),
        ("AUTH_RATE_LIMIT", "lots", "is not a rate limit"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "0", "greater than or equal to 1"),
        ("TRUSTED_PROXY_COUNT", "-1", "greater than or equal to 0"),
        ("MAX_CONTENT_LENGTH", "ten", "valid integer"),
        ("CORS_ORIGINS", "example.com", "is not an origin"),
    ],
)
def test_bad_value_is_named_with_its_reason(monkeypatch, key, value, reason):
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith(f"Configuration error: {key}: ")
    assert reason in message
    assert "\n" not in message


def test_missing_secret_key_stops_start_up():
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set"):
        load_settings(_env_file=None)


def test_short_secret_key_stops_start_up_without_echoing_it(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short-secret-value")
    with pytest.raises(ConfigurationError, match="at least 32 characters") as caught:
        load_settings(_env_file=None)
    assert "short-secret-value" not in str(caught.value)


def test_database_url_error_never_echoes_credentials(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", "oracle://admin:hunter2@db/x")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_env_file=None)
    assert "hunter2" not in str(caught.value)


def test_debug_without_key_generates_and_keeps_one(monkeypatch, tmp_path):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "instance")
    first = load_settings(_env_file=None, debug=True).secret_key.get_secret_value()
    second = load_settings(_env_file=None, debug=True).secret_key.get_secret_value()
    assert len(first) >= 32
    assert first == second
    assert (tmp_path / "instance" / "secret_key").read_text() == first


def test_env_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"SECRET_KEY={TEST_SECRET_KEY}\nAPP_NAME=FromDotEnv\nLOG_LEVEL=debug\n")
    assert load_settings(_env_file=env_file).app_name == "FromDotEnv"
    assert load_settings(_env_file=env_file).log_level == "DEBUG"
    monkeypatch.setenv("APP_NAME", "FromEnvironment")
    assert load_settings(_env_file=env_file).app_name == "FromEnvironment"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ],
)
def test_postgres_urls_map_to_psycopg3(url, expected):
    settings = Settings(_env_file=None, secret_key=TEST_SECRET_KEY, database_url=url)
    assert settings.database_url == expected


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("", []),
        ("https://a.example", ["https://a.example"]),
        (
            " https://a.example/ , http://b.example:8080 ",
            ["https://a.example", "http://b.example:8080"],
        ),
        ("https://a.example,*", ["*"]),
        ("*", ["*"]),
    ],
)
def test_get_cors_origins_parses_the_list(value, origins):
    assert get_cors_origins(value) == origins


def _run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_setting_exits_non_zero_with_one_line(tmp_path):
    result = _run_python(
        "import wsgi",
        {"SECRET_KEY": TEST_SECRET_KEY, "RATE_LIMIT_REQUESTS": "abc", "LOG_FILE": ""},
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "Configuration error: RATE_LIMIT_REQUESTS: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')"
    ]
