"""The database mode behind PgBouncer: its setting, the engine it builds and what /health says.

The mode itself is exercised through a real PgBouncer by tests/drills/test_scale_out.py.
"""

from __future__ import annotations

import pytest

from app import create_app
from app.database import engine_options
from config import ConfigurationError, load_settings

POSTGRES = "postgresql://inkwell@db.internal:6432/inkwell"


def test_pgbouncer_mode_is_off_by_default(make_settings):
    assert make_settings().database_pgbouncer is False


def test_pgbouncer_mode_is_read_from_the_environment(monkeypatch, make_settings):
    monkeypatch.setenv("DATABASE_PGBOUNCER", "true")
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    assert load_settings(_env_file=None, secret_key="x" * 32).database_pgbouncer is True


def test_pgbouncer_mode_on_sqlite_stops_start_up_naming_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_PGBOUNCER", "true")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigurationError, match="DATABASE_PGBOUNCER=true needs a postgresql"):
        load_settings(_env_file=None, secret_key="x" * 32)


def test_pgbouncer_mode_turns_off_server_side_prepared_statements(make_settings):
    options = engine_options(make_settings(database_url=POSTGRES, database_pgbouncer=True))
    assert options["connect_args"]["prepare_threshold"] is None
    assert options["pool_pre_ping"] is True


def test_direct_postgresql_keeps_psycopg_prepared_statements(make_settings):
    options = engine_options(make_settings(database_url=POSTGRES))
    assert "prepare_threshold" not in options["connect_args"]


def test_health_reports_a_direct_database(make_settings):
    app = create_app(make_settings())
    database = app.test_client().get("/health").get_json()["data"]["checks"]["database"]
    assert database["pgbouncer"] is False


def test_health_reports_pgbouncer_mode_also_while_it_is_unreachable(make_settings):
    unreachable = "postgresql://inkwell@127.0.0.1:1/absent"
    app = create_app(make_settings(database_url=unreachable, database_pgbouncer=True))
    response = app.test_client().get("/health")
    database = response.get_json()["data"]["checks"]["database"]
    assert response.status_code == 503
    assert (database["status"], database["pgbouncer"]) == ("error", True)
