"""Inkwell settings: the single source of configuration.

Every setting comes from the environment or from a ``.env`` file (real
environment variables win), is typed and validated once at start-up, and is
handed to ``create_app``. No other module reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__version__ = "0.1.0"

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
MIN_SECRET_KEY_LENGTH = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RATE_LIMIT_STORAGE_SCHEMES = (
    "memory",
    "redis",
    "rediss",
    "redis+unix",
    "redis+sentinel",
    "redis+cluster",
)

# A host name, optionally with a port, or ``.example.com`` for the domain and its subdomains.
TRUSTED_HOST_PATTERN = re.compile(
    r"\.?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?"  # name[:port] or .domain
    r"|\[[0-9a-f:.]+\](:[0-9]{1,5})?"  # [IPv6][:port]
)

# Values of these keys may carry credentials, so errors never echo them.
SECRET_BEARING_KEYS = ("SECRET_KEY", "DATABASE_URL", "RATE_LIMIT_STORAGE_URL", "METRICS_TOKEN")

log = logging.getLogger("inkwell.config")


class ConfigurationError(SystemExit):
    """A setting is missing or invalid; start-up stops with one readable line."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Configuration error: {message}")
        self.message = message


class Settings(BaseSettings):
    """Typed, validated settings of one Inkwell process (CONTRACT section 1)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    app_name: str = Field("Inkwell", min_length=1, max_length=100)
    app_version: str = Field(__version__, min_length=1, max_length=50)
    debug: bool = False
    secret_key: SecretStr | None = None
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'inkwell.db'}"
    database_pgbouncer: bool = False
    cors_origins: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_file: str = "logs/inkwell.log"
    log_format: Literal["text", "json"] = "text"
    rate_limit_enabled: bool = True
    rate_limit_requests: int = Field(100, ge=1)
    rate_limit_period: int = Field(60, ge=1)
    rate_limit_storage_url: str = "memory://"
    auth_rate_limit: str = "5 per minute"
    access_token_expire_minutes: int = Field(30, ge=1)
    trusted_proxy_count: int = Field(0, ge=0, le=10)
    max_content_length: int = Field(1_048_576, ge=1024)
    auth_account_rate_limit: str = "10 per 15 minutes"
    trusted_hosts: str = ""
    audit_anchor_file: str = str(INSTANCE_DIR / "audit-anchors.log")
    metrics_enabled: bool = True
    metrics_allow: str = "127.0.0.1/32,::1/128"
    metrics_token: SecretStr | None = None

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _normalise_case(cls, value: object, info) -> object:
        if isinstance(value, str):
            value = value.strip()
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        value = value.strip()
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a valid database URL (e.g. postgresql://user@host/db)"
            ) from None
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg")
        if url.get_backend_name() not in ("postgresql", "sqlite"):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return url.render_as_string(hide_password=False)

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _check_storage_url(cls, value: str) -> str:
        value = value.strip()
        scheme, sep, _ = value.partition("://")
        if not sep or scheme not in RATE_LIMIT_STORAGE_SCHEMES:
            raise ValueError("must be memory:// or a redis:// URL")
        return value

    @field_validator("auth_rate_limit", "auth_account_rate_limit")
    @classmethod
    def _check_auth_rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("is not a rate limit such as '5 per minute'") from None
        return value.strip()

    @field_validator("trusted_hosts")
    @classmethod
    def _check_trusted_hosts(cls, value: str) -> str:
        for host in _split_hosts(value):
            if not TRUSTED_HOST_PATTERN.fullmatch(host):
                raise ValueError(f"{host!r} is not a host name such as blog.example.com")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, value: str) -> str:
        for origin in _split_origins(value):
            if origin != "*" and not (
                origin.startswith(("http://", "https://")) and origin.count("/") == 2
            ):
                raise ValueError(f"{origin!r} is not an origin such as https://example.com")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _check_metrics_allow(cls, value: str) -> str:
        for network in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network such as 10.0.0.0/8") from None
        return value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_metrics_token_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _check_secret_key(self) -> Settings:
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if key and len(key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters long")
        if not key and not self.debug:
            raise ValueError("SECRET_KEY is not set (run 'make run' once, or set it in .env)")
        return self

    @model_validator(mode="after")
    def _check_pgbouncer(self) -> Settings:
        if self.database_pgbouncer and self.database_backend != "postgresql":
            raise ValueError("DATABASE_PGBOUNCER=true needs a postgresql:// DATABASE_URL")
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        """The allowed CORS origins, parsed from ``CORS_ORIGINS``."""
        return get_cors_origins(self.cors_origins)

    @property
    def trusted_host_list(self) -> list[str]:
        """The host names requests may name in ``Host`` (empty: any), from ``TRUSTED_HOSTS``."""
        return _split_hosts(self.trusted_hosts)

    @property
    def database_backend(self) -> str:
        """The database backend name, without credentials."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).get_backend_name()

    @property
    def sqlite_path_dir(self) -> Path | None:
        """The folder of a file-based SQLite database (created at start-up), else None."""
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database).parent

    @property
    def rate_limit(self) -> str:
        """The application-wide limit as a rate-limit string."""
        return f"{self.rate_limit_requests} per {self.rate_limit_period} second"


def _split_hosts(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def _split_origins(value: str) -> list[str]:
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


def get_cors_origins(value: str) -> list[str]:
    """Parse ``CORS_ORIGINS``: comma-separated origins, ``*`` for any, empty for none."""
    origins = _split_origins(value)
    return ["*"] if "*" in origins else origins


def _format_error(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]).upper() or "settings"
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        value = first.get("input")
        if key not in SECRET_BEARING_KEYS and isinstance(value, str | int | float | bool):
            message += f" (got {value!r})"
        return f"{key}: {message}"
    return message


def _debug_secret_key() -> str:
    """Return the development key kept under ``instance/``, creating it once."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; raise ConfigurationError with one clear line."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(_format_error(error)) from None
    if settings.secret_key is None:
        log.warning(
            "SECRET_KEY is not set; DEBUG is on, so a development key under instance/ is used"
        )
        settings.secret_key = SecretStr(_debug_secret_key())
    return settings
