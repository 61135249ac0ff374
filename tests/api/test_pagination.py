"""Pagination of every API list: bounds, envelope, Link header, and a constant query count."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from config import Settings
from tests.api_helpers import assert_error, assert_success, auth_headers, detail_fields
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.db_helpers import statements_of

LISTS = ("posts", "comments", "history", "audit")
ITEMS = 3


@pytest.fixture(scope="module", params=BACKENDS)
def lists(request, tmp_path_factory):
    """A test client and each list endpoint with ITEMS items in it, with headers to read it.

    Module-scoped: every test here only reads.
    """
    from app import create_app
    from app.extensions import db
    from app.models import Role
    from app.services import comment_service, post_service, user_service
    from tests.conftest import TEST_SECRET_KEY, reset_schema

    folder = tmp_path_factory.mktemp("pagination")
    database_url = (
        f"sqlite:///{folder / 'inkwell.db'}" if request.param == "sqlite" else POSTGRES_URL
    )
    app = create_app(
        Settings(
            _env_file=None,
            secret_key=TEST_SECRET_KEY,
            database_url=database_url,
            log_file="",
            rate_limit_enabled=False,
        )
    )
    with app.app_context():
        reset_schema()
        # Every item has its own author, so that loading authors one by one would show.
        writers = [
            user_service.register_user(f"writer{number}", f"w{number}@example.com", "password-1")
            for number in range(ITEMS)
        ]
        admin = user_service.register_user(
            "admin", "admin@example.com", "password-1", role=Role.ADMIN
        )
        posts = [
            post_service.create_post(writer, f"Post by {writer.username}", "Body", "published")
            for writer in writers
        ]
        author, post_id = writers[0], posts[0].id
        for writer in writers:
            comment_service.add_comment(post_id, writer, f"Comment by {writer.username}")
        for number in range(ITEMS - 1):
            post_service.update_post(post_id, author, body=f"Edit {number}")
        urls = {
            "posts": ("/api/v1/posts", {}),
            "comments": (f"/api/v1/posts/{post_id}/comments", {}),
            "history": (f"/api/v1/posts/{post_id}/history", auth_headers(app, author)),
            "audit": ("/api/v1/audit?entity_type=comment", auth_headers(app, admin)),
        }
    yield app, urls
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def page(lists, name: str, query: str = ""):
    """GET one list endpoint with ``query``."""
    app, urls = lists
    client = app.test_client()
    url, headers = urls[name]
    separator = "&" if "?" in url else "?"
    return client.get(f"{url}{separator}{query}" if query else url, headers=headers)


def links(response) -> dict[str, dict[str, str]]:
    """The Link header as {rel: query arguments}."""
    result = {}
    for part in filter(None, response.headers.get("Link", "").split(",")):
        target, _, rel = part.partition(";")
        query = parse_qs(urlparse(target.strip()[1:-1]).query)
        result[rel.strip().removeprefix("rel=").strip('"')] = {
            key: values[0] for key, values in query.items()
        }
    return result


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=0", "limit", "must be >= 1"),
        ("limit=101", "limit", "must be <= 100"),
        ("limit=abc", "limit", "must be an integer"),
        ("limit=1e3", "limit", "must be an integer"),
        ("limit=2.0", "limit", "must be an integer"),
        ("limit=", "limit", "must be an integer"),
        ("skip=-1", "skip", "must be >= 0"),
        ("skip=", "skip", "must be an integer"),
        ("skip=x", "skip", "must be an integer"),
        (f"skip={2**64}", "skip", f"must be <= {2**63 - 1}"),
    ],
)
def test_bad_pagination_is_a_422_naming_the_parameter(lists, name, query, field, message):
    response = page(lists, name, query)
    body = assert_error(response, 422)
    assert body["details"] == [{"field": field, "message": message}]


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(("limit", "expected"), [(1, 1), (100, ITEMS)])
def test_limit_bounds_are_accepted(lists, name, limit, expected):
    response = page(lists, name, f"limit={limit}")
    assert len(assert_success(response)) == expected
    assert response.get_json()["pagination"] == {"skip": 0, "limit": limit, "total": ITEMS}


@pytest.mark.parametrize("name", LISTS)
def test_defaults_are_skip_0_and_limit_20(lists, name):
    pagination = page(lists, name).get_json()["pagination"]
    assert pagination == {"skip": 0, "limit": 20, "total": ITEMS}


@pytest.mark.parametrize("name", LISTS)
def test_both_bad_parameters_are_named(lists, name):
    response = page(lists, name, "skip=-1&limit=0")
    assert_error(response, 422)
    assert detail_fields(response) == {"skip", "limit"}


@pytest.mark.parametrize("name", LISTS)
def test_pages_walk_the_whole_list_without_gaps_or_repeats(lists, name):
    everything = [item["id"] for item in assert_success(page(lists, name, "limit=100"))]
    walked = []
    for skip in range(0, ITEMS, 2):
        walked += [item["id"] for item in assert_success(page(lists, name, f"skip={skip}&limit=2"))]
    assert walked == everything
    assert len(set(everything)) == ITEMS


@pytest.mark.parametrize("name", LISTS)
def test_link_header_points_to_next_and_prev(lists, name):
    response = page(lists, name, "skip=1&limit=1")
    rels = links(response)
    assert rels["next"]["skip"] == "2" and rels["next"]["limit"] == "1"
    assert rels["prev"]["skip"] == "0" and rels["prev"]["limit"] == "1"


@pytest.mark.parametrize("name", LISTS)
def test_first_page_has_no_prev_and_last_page_no_next(lists, name):
    first = links(page(lists, name, "limit=2"))
    last = links(page(lists, name, "skip=2&limit=2"))
    assert set(first) == {"next"}
    assert set(last) == {"prev"}


def test_link_header_keeps_filters(lists):
    response = page(lists, "posts", "author=writer0&skip=1&limit=1")
    assert links(response)["prev"]["author"] == "writer0"


@pytest.mark.parametrize("name", LISTS)
def test_link_urls_are_relative_whatever_host_is_sent(lists, name):
    app, urls = lists
    client = app.test_client()
    url, headers = urls[name]
    path = url.partition("?")[0]
    separator = "&" if "?" in url else "?"
    for base in ["http://one.example", "https://evil.example:8443", "http://one.example"]:
        response = client.get(f"{url}{separator}skip=1&limit=1", base_url=base, headers=headers)
        link = response.headers["Link"]
        targets = [part.partition(";")[0].strip()[1:-1] for part in link.split(",")]
        assert targets and all(target.startswith(f"{path}?") for target in targets)
        assert "example" not in link


@pytest.mark.parametrize("name", LISTS)
def test_skip_past_the_end_is_an_empty_page_with_the_total(lists, name):
    response = page(lists, name, "skip=50")
    assert assert_success(response) == []
    assert response.get_json()["pagination"]["total"] == ITEMS


# -- no N+1 --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LISTS)
def test_query_count_does_not_grow_with_limit(lists, name):
    page(lists, name)  # warm-up: connection set-up is not the list's cost
    app = lists[0]
    with statements_of(app) as one:
        assert len(assert_success(page(lists, name, "limit=1"))) == 1
    with statements_of(app) as many:
        assert len(assert_success(page(lists, name, "limit=100"))) == ITEMS
    assert len(many) == len(one), many
