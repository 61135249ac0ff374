"""The application class: Flask with its per-function async check made once."""

from __future__ import annotations

import inspect

import flask.app

from app import Inkwell, create_app


def test_create_app_builds_an_inkwell_app(make_settings):
    assert isinstance(create_app(make_settings()), Inkwell)


def test_each_hook_is_checked_for_async_only_once(make_settings, monkeypatch):
    application = create_app(make_settings(cors_origins="https://app.example.com"))
    client = application.test_client()
    client.get("/api/v1/", headers={"Origin": "https://app.example.com"})
    checked = []

    def counting(func) -> bool:
        checked.append(func)
        return inspect.iscoroutinefunction(func)

    monkeypatch.setattr(flask.app, "iscoroutinefunction", counting)
    for _ in range(3):
        response = client.get("/api/v1/", headers={"Origin": "https://app.example.com"})
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert checked == []


def test_async_functions_are_still_run_through_async_to_sync(make_settings, monkeypatch):
    application = create_app(make_settings())

    async def asynchronous() -> str:
        return "hello"

    def synchronous() -> str:
        return "hello"

    monkeypatch.setattr(application, "async_to_sync", lambda func: ("wrapped", func))
    for _ in range(2):
        assert application.ensure_sync(asynchronous) == ("wrapped", asynchronous)
        assert application.ensure_sync(synchronous) is synchronous


def test_the_session_is_ended_by_one_teardown(make_settings):
    from app.database import release_session
    from app.extensions import db

    application = create_app(make_settings())
    assert application.teardown_appcontext_funcs.count(release_session) == 1
    assert not any(
        getattr(func, "__self__", None) is db for func in application.teardown_appcontext_funcs
    )
    with application.app_context():
        db.session.execute(db.select(1))
        pool = db.engine.pool
        assert pool.checkedout() == 1
    assert pool.checkedout() == 0  # the teardown ended the session and gave back its connection
