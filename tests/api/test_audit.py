"""The audit trail endpoint: admins only, newest first, filters validated."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error, assert_success, auth_headers, detail_fields

AUDIT = "/api/v1/audit"


@pytest.fixture
def trail(app, make_user, make_post, make_comment):
    """Some audited activity, and an admin's headers to read it."""
    author = make_user("author")
    post = make_post(author)
    comment = make_comment(post, author)
    admin = make_user("admin", role="admin")
    return {
        "author": author,
        "post": post,
        "comment": comment,
        "admin": admin,
        "headers": auth_headers(app, admin),
    }


def test_admin_lists_events_newest_first(client, trail):
    events = assert_success(client.get(AUDIT, headers=trail["headers"]))
    ids = [event["id"] for event in events]
    assert ids == sorted(ids, reverse=True)
    assert events[0]["entity_type"] == "user"  # the admin, created last
    assert {"create"} == {event["action"] for event in events}


def test_events_carry_the_documented_fields(client, trail):
    event = assert_success(client.get(f"{AUDIT}?entity_type=post", headers=trail["headers"]))[0]
    assert event["entity_id"] == trail["post"].id
    assert event["actor_id"] == trail["author"].id
    assert event["changes"]["title"]["new"] == trail["post"].title
    assert len(event["hash"]) == len(event["prev_hash"]) == 64
    assert event["occurred_at"].endswith("+00:00")


@pytest.mark.parametrize("entity_type", ["user", "post", "comment"])
def test_entity_type_filter(client, trail, entity_type):
    events = assert_success(
        client.get(f"{AUDIT}?entity_type={entity_type}", headers=trail["headers"])
    )
    assert events
    assert {event["entity_type"] for event in events} == {entity_type}


def test_entity_id_filter(client, trail):
    url = f"{AUDIT}?entity_type=comment&entity_id={trail['comment'].id}"
    events = assert_success(client.get(url, headers=trail["headers"]))
    assert [(event["entity_type"], event["entity_id"]) for event in events] == [
        ("comment", trail["comment"].id)
    ]


def test_actor_filter(client, trail):
    actor = trail["author"].id
    events = assert_success(client.get(f"{AUDIT}?actor={actor}", headers=trail["headers"]))
    assert events
    assert {event["actor_id"] for event in events} == {actor}


def test_filters_that_match_nothing_give_an_empty_page(client, trail):
    response = client.get(f"{AUDIT}?entity_id=999999", headers=trail["headers"])
    assert assert_success(response) == []
    assert response.get_json()["pagination"]["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("entity_type=banana", "entity_type"),
        ("entity_type=", "entity_type"),
        ("entity_id=abc", "entity_id"),
        ("entity_id=0", "entity_id"),
        ("entity_id=1e3", "entity_id"),
        ("actor=-1", "actor"),
        ("actor=", "actor"),
        (f"actor={2**64}", "actor"),
        (f"entity_id={2**31}", "entity_id"),
    ],
)
def test_bad_filters_are_a_422_naming_the_parameter(client, trail, query, field):
    response = client.get(f"{AUDIT}?{query}", headers=trail["headers"])
    assert_error(response, 422)
    assert detail_fields(response) == {field}


def test_audit_needs_a_token(client):
    response = client.get(AUDIT)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_audit_is_forbidden_to_authors(app, client, trail):
    assert_error(client.get(AUDIT, headers=auth_headers(app, trail["author"])), 403)
