"""Migrations build the schema from empty on both backends and agree with the models."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.extensions import db
from app.models import Base
from config import BASE_DIR
from tests.conftest import POSTGRES_URL

MIGRATION_SCHEMA = "inkwell_migration_check"
MODEL_TABLES = {"users", "posts", "comments", "audit_events"}
# SQLite cannot reflect expression indexes, so autogenerate skips them there (with a
# warning); test_case_insensitive_unique_indexes_exist checks them on SQLite instead.
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based"),
]


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """An empty database: a new SQLite file, or a scratch schema on the test PostgreSQL."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    from sqlalchemy import create_engine

    engine = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {MIGRATION_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {MIGRATION_SCHEMA}"))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={MIGRATION_SCHEMA}"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {MIGRATION_SCHEMA} CASCADE"))
    engine.dispose()


@pytest.fixture
def migrated_app(make_settings, empty_database_url):
    """An app whose database was built by ``flask db upgrade`` from empty."""
    application = create_app(make_settings(database_url=empty_database_url))
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


def table_names() -> set[str]:
    """Tables in the app's database (its default schema)."""
    return set(inspect(db.engine).get_table_names())


def test_upgrade_builds_every_table_from_empty(migrated_app):
    assert table_names() >= MODEL_TABLES


def test_models_and_migrations_agree(migrated_app):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_downgrade_base_removes_every_table(migrated_app):
    downgrade(revision="base")
    assert table_names() <= {"alembic_version"}


def test_upgrade_after_downgrade_rebuilds_the_schema(migrated_app):
    downgrade(revision="base")
    upgrade()
    assert table_names() >= MODEL_TABLES


@pytest.mark.parametrize(
    "second",
    [("ALICE", "other@example.com"), ("other", "ALICE@example.com")],
    ids=["username", "email"],
)
def test_case_insensitive_unique_indexes_exist(migrated_app, second):
    insert = text(
        "INSERT INTO users (username, email, password_hash, role, is_active, date_added,"
        " date_updated, added_by, updated_by)"
        " VALUES (:username, :email, 'h', 'author', true, :now, :now, 0, 0)"
    )
    now = "2026-01-01 00:00:00"
    with db.engine.begin() as connection:
        connection.execute(insert, {"username": "alice", "email": "alice@example.com", "now": now})
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(insert, {"username": second[0], "email": second[1], "now": now})


def test_the_append_only_trigger_is_created_only_on_postgresql(migrated_app):
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            names = connection.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).scalars()
            assert "audit_events_append_only" in set(names)
        else:
            triggers = connection.execute(
                text(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'trigger' AND tbl_name = 'audit_events'"
                )
            ).scalars()
            assert list(triggers) == []


def test_the_application_never_calls_create_all():
    sources = (BASE_DIR / "app").rglob("*.py")
    offenders = [str(path) for path in sources if "create_all(" in Path(path).read_text()]
    assert offenders == []


def test_no_revision_imports_application_code():
    """A revision is history: editing the application must never change what it does."""
    offenders = []
    for path in sorted((BASE_DIR / "migrations" / "versions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "app"]
    assert offenders == []
