"""The database layer: one connection per request, reads in autocommit and writes in a
transaction; the mode behind PgBouncer (its setting, the engine it builds, what /health says).

The mode itself is exercised through a real PgBouncer by tests/drills/test_scale_out.py.
"""

from __future__ import annotations

import pytest

from app import create_app
from app.database import GENERIC_PLANS, begin_reads, engine_options
from app.extensions import db
from app.models import User
from app.services import user_service
from app.services.transactions import transaction
from config import ConfigurationError, load_settings
from tests.api_helpers import assert_success, auth_headers
from tests.conftest import POSTGRES_PGBOUNCER
from tests.db_helpers import database_use_of, statements_of

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


# -- one connection per request; reads in autocommit, writes in a transaction ------------


@pytest.fixture
def writer(make_user, make_post):
    """A user with a published post."""
    user = make_user("writer")
    make_post(user, title="Read me")
    return user


@pytest.mark.parametrize("path", ["/", "/api/v1/posts", "/api/v1/users/writer", "/u/writer"])
def test_an_anonymous_read_takes_one_connection_and_no_transaction(app, client, writer, path):
    client.get(path)  # warm-up: connection set-up is not the request's cost
    with database_use_of(app) as use:
        assert client.get(path).status_code == 200
    assert use.checkouts == 1
    assert use.statements  # the content, with the ETag's version
    assert use.isolation_levels == {"AUTOCOMMIT"}


def test_a_signed_in_read_takes_one_connection_and_no_transaction(app, client, writer):
    headers = auth_headers(app, writer)
    client.get("/api/v1/auth/me", headers=headers)
    with database_use_of(app) as use:
        assert client.get("/api/v1/posts", headers=headers).status_code == 200
    assert use.checkouts == 1
    assert use.isolation_levels == {"AUTOCOMMIT"}


def test_a_write_runs_in_a_transaction(app, client, writer):
    headers = auth_headers(app, writer)
    post = {"title": "Fresh", "body": "Words.", "status": "published"}
    with database_use_of(app) as use:
        assert client.post("/api/v1/posts", json=post, headers=headers).status_code == 201
    assert use.isolation_levels == {None}


def test_a_write_after_reads_in_a_get_is_still_all_or_nothing(app, writer):
    with app.test_request_context("/", method="GET"):
        begin_reads(db)
        assert user_service.find_user_by_username("writer") is not None  # an autocommit read
        with pytest.raises(RuntimeError), transaction() as session:
            session.add(User(username="halfway", email="halfway@example.com", password_hash="x"))
            session.flush()
            raise RuntimeError("the write fails after its first statement")
        db.session.remove()
        assert user_service.find_user_by_username("halfway") is None


def test_a_create_answers_with_what_it_wrote_without_reading_it_back(app, client, writer):
    headers = auth_headers(app, writer)
    post = {"title": "Fresh", "body": "Words.", "status": "published"}
    with database_use_of(app) as use:
        response = client.post("/api/v1/posts", json=post, headers=headers)
    data = assert_success(response, 201)
    assert (data["title"], data["author"]["username"]) == ("Fresh", "writer")
    sent = [statement for statement, _level in use.statements]
    [inserted] = [n for n, sql in enumerate(sent) if sql.startswith("INSERT INTO posts")]
    reads_after = [statement for statement in sent[inserted:] if statement.startswith("SELECT")]
    assert not [statement for statement in reads_after if "FROM posts" in statement]
    assert not [statement for statement in reads_after if "FROM users" in statement]
    assert use.checkouts == 1


# -- prepared statements get one generic plan --------------------------------------------


def test_direct_postgresql_plans_each_prepared_statement_once(make_settings):
    options = engine_options(make_settings(database_url=POSTGRES))
    assert options["connect_args"]["options"] == GENERIC_PLANS


def test_the_urls_own_server_options_are_kept(make_settings):
    url = POSTGRES + "?options=-csearch_path%3Dblog"
    options = engine_options(make_settings(database_url=url))["connect_args"]["options"]
    assert options == f"-csearch_path=blog {GENERIC_PLANS}"


def test_pgbouncer_mode_sends_no_server_options(make_settings):
    # PgBouncer refuses startup parameters it does not know, and prepares nothing here.
    options = engine_options(make_settings(database_url=POSTGRES, database_pgbouncer=True))
    assert "options" not in options["connect_args"]


def test_the_app_connections_use_generic_plans(app, database_url):
    if not database_url.startswith("postgresql") or POSTGRES_PGBOUNCER:
        pytest.skip("PostgreSQL straight, not through PgBouncer")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"


def test_a_windows_bounds_are_written_into_its_statement(app, client, writer):
    with statements_of(app) as sent:
        assert client.get("/api/v1/posts?skip=0&limit=7").status_code == 200
    [page] = [statement for statement in sent if "FROM posts" in statement]
    assert "LIMIT 7 OFFSET 0" in page
