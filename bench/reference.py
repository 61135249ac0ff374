"""The plain references of the benchmark: each request shape through psycopg, no framework.

One WSGI callable dispatching on the path. Every answer does the reads or writes of the
Inkwell request it is compared with, and no more: no ORM, no validation models, no rate
limiting, no access log, no security headers. It is the practical ceiling for each
request in Python; bench/production.py serves it with the same gunicorn settings and
worker count as Inkwell, at the same time.

* ``GET /api/v1/posts?limit=20[&skip=N]``: the newest published live posts with their
  author's username, as JSON; NO total (Inkwell's answer carries its exact total).
* ``GET /api/v1/posts/<id>``: one published live post with its author, and an ETag.
* ``GET /api/v1/users/<username>``: one live user's public profile.
* ``GET /``, ``GET /?page=N``, ``GET /u/<username>``, ``GET /posts/<id>``: Inkwell's own
  templates (templates/) rendered by a plain ``jinja2.Environment`` with the project's
  pure filters, from the same rows (the HTML and excerpts stored when each post and
  comment was written, as Inkwell reads them), including the totals read from
  ``feed_counts``.
* ``POST /api/v1/posts``: checks the bearer token (PyJWT) and reads its user, renders the
  Markdown once (app.markdown.render, as Inkwell's write path does), then in one
  transaction takes the audit chain's advisory lock (first, as Inkwell does), inserts the
  post (the feed-count triggers update the counters), reads the chain's head and appends
  the post's ``create`` event with its hash computed by app.models.audit_event.
* ``GET /health/live``: so that the benchmark can wait for it like for Inkwell.

Settings come from the environment: ``REFERENCE_DATABASE_URL`` (a libpq URL) and
``SECRET_KEY`` (the key Inkwell signs its tokens with).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import jwt
import psycopg
from jinja2 import Environment, FileSystemLoader, select_autoescape
from slugify import slugify

from app.markdown import render as render_markdown_text
from app.models.audit_event import AUDIT_CHAIN_LOCK_KEY, GENESIS_HASH, event_hash
from app.web.pagination import Page
from app.web.templating import humandate, isoformat, stored_html

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
POSTS_PER_PAGE = 10
COMMENTS_PER_PAGE = 20
#: Werkzeug's url_for leaves these characters of a query value unescaped.
QUERY_SAFE = "!$'()*,/:;?@"
#: Compact JSON, as Flask sends it.
SEPARATORS = (",", ":")
POST_COLUMNS = (
    "date_added",
    "date_updated",
    "added_by",
    "updated_by",
    "id",
    "title",
    "slug",
    "body",
    "body_html",
    "excerpt",
    "status",
    "published_at",
    "author_id",
    "version",
    "deleted_at",
)
_SELECT_POST = ", ".join(f"p.{name}" for name in POST_COLUMNS) + ", u.username"
_LIVE_AUTHOR = "LEFT JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL"
#: A window of the feed: the ids first (an index-only scan), then those rows.
FEED_WINDOW = f"""
SELECT {_SELECT_POST}, (SELECT published FROM feed_counts WHERE author_id = %(scope)s)
FROM (
    SELECT id FROM posts
    WHERE status = 'published' AND deleted_at IS NULL {{author}}
    ORDER BY published_at DESC, id DESC LIMIT %(limit)s OFFSET %(skip)s
) AS w
JOIN posts p ON p.id = w.id {_LIVE_AUTHOR}
ORDER BY p.published_at DESC, p.id DESC
"""
FEED_SQL = FEED_WINDOW.format(author="")
AUTHOR_FEED_SQL = FEED_WINDOW.format(author="AND author_id = %(author_id)s")
POST_SQL = f"""
SELECT {_SELECT_POST} FROM posts p {_LIVE_AUTHOR}
WHERE p.id = %s AND p.deleted_at IS NULL AND p.status = 'published'
"""
USER_SQL = """
SELECT date_added, date_updated, added_by, updated_by, id, username, role
FROM users WHERE lower(username) = lower(%s) AND deleted_at IS NULL
"""
COMMENTS_SQL = """
SELECT c.id, c.body_html, c.date_added, u.username, count(*) OVER ()
FROM comments c JOIN users u ON u.id = c.author_id
WHERE c.post_id = %s AND c.deleted_at IS NULL
ORDER BY c.id LIMIT %s OFFSET %s
"""
WRITER_SQL = """
SELECT id FROM users
WHERE id = %s AND is_active AND deleted_at IS NULL AND credentials_version = %s
"""
INSERT_POST_SQL = """
INSERT INTO posts (title, slug, body, body_html, excerpt, rendered_with, status, published_at,
                   author_id, version, date_added, date_updated, added_by, updated_by)
VALUES (%(title)s, %(slug)s, %(body)s, %(body_html)s, %(excerpt)s, %(rendered_with)s,
        %(status)s, %(published_at)s, %(author_id)s, 1,
        %(now)s, %(now)s, %(author_id)s, %(author_id)s)
RETURNING id
"""
INSERT_EVENT_SQL = """
INSERT INTO audit_events (id, occurred_at, entity_type, entity_id, action, changes, actor_id,
                          request_id, prev_hash, hash)
VALUES (%(id)s, %(occurred_at)s, %(entity_type)s, %(entity_id)s, %(action)s,
        %(changes)s::jsonb, %(actor_id)s, %(request_id)s, %(prev_hash)s, %(hash)s)
"""

_local = threading.local()


class HTTPError(Exception):
    """An answer other than 200, with its status line."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def connection() -> psycopg.Connection:
    """This thread's connection (opened on first use, after gunicorn forks)."""
    existing = getattr(_local, "connection", None)
    if existing is None or existing.closed:
        existing = psycopg.connect(
            os.environ["REFERENCE_DATABASE_URL"], autocommit=True, options="-c timezone=UTC"
        )
        _local.connection = existing
    return existing


# -- templates -----------------------------------------------------------------------------


def url_for(endpoint: str, **values: Any) -> str:
    """A path for the few endpoints the templates link to; other values go in the query."""
    values = {key: value for key, value in values.items() if value is not None}
    routes = {
        "static": lambda: "/static/" + values.pop("filename"),
        "web.home": lambda: "/",
        "web.author": lambda: "/u/" + quote(str(values.pop("username"))),
        "web.show_post": lambda: f"/posts/{values.pop('post_id')}",
        "web.add_comment": lambda: f"/posts/{values.pop('post_id')}/comments",
        "web.login": lambda: "/login",
        "web.register": lambda: "/register",
        "web.logout": lambda: "/logout",
        "web.new_post": lambda: "/posts/new",
    }
    path = routes[endpoint]()
    return f"{path}?{urlencode(values, safe=QUERY_SAFE)}" if values else path


def page_url(endpoint: str, number: int, param: str = "page", **values: Any) -> str:
    """The URL of page ``number`` of a list; page 1 has no ``page`` parameter."""
    values = {key: value for key, value in values.items() if value not in (None, "")}
    if number > 1:
        values[param] = number
    return url_for(endpoint, **values)


def template_environment() -> Environment:
    """Inkwell's templates with its filters and trivial globals, outside any framework."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(), auto_reload=False
    )
    environment.filters.update(stored_html=stored_html, isoformat=isoformat, humandate=humandate)
    environment.globals.update(
        url_for=url_for,
        page_url=page_url,
        csrf_token=lambda: "reference-csrf-token",
        get_flashed_messages=lambda **_options: [],
        current_user=None,
        app_name="Inkwell",
        app_version="0.1.0",
    )
    return environment


TEMPLATE_ENVIRONMENT = template_environment()


def render(name: str, environ: dict[str, Any], **context: Any) -> str:
    """Render template ``name`` with what Inkwell's context processors add."""
    query = environ.get("QUERY_STRING", "")
    next_here = environ["PATH_INFO"] + (f"?{query}" if query else "")
    return TEMPLATE_ENVIRONMENT.get_template(name).render(
        next_here=next_here, request_id=secrets.token_hex(16), **context
    )


# -- reads ---------------------------------------------------------------------------------


def post_object(row: tuple) -> SimpleNamespace:
    """A post as the templates use it (with ``author.username``)."""
    post = SimpleNamespace(**dict(zip(POST_COLUMNS, row, strict=False)))
    post.author = SimpleNamespace(id=post.author_id, username=row[len(POST_COLUMNS)])
    post.is_published = post.status == "published"
    return post


def post_json(row: tuple) -> dict[str, Any]:
    """A post as the API shows it."""
    data = dict(zip(POST_COLUMNS, row, strict=False))
    for key in ("date_added", "date_updated", "published_at", "deleted_at"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    del data["body_html"], data["excerpt"]  # the pages' stored rendering, not API fields
    author_id = data.pop("author_id")
    username = row[len(POST_COLUMNS)]
    data["author"] = None if username is None else {"id": author_id, "username": username}
    data["version"], data["deleted_at"] = data.pop("version"), data.pop("deleted_at")
    return data


def feed_rows(skip: int, limit: int, author_id: int | None = None) -> list[tuple]:
    """A window of the feed (of one author or all), each row ending with the total."""
    sql = FEED_SQL if author_id is None else AUTHOR_FEED_SQL
    params = {"skip": skip, "limit": limit, "scope": author_id or 0, "author_id": author_id}
    with connection().cursor() as cursor:
        return cursor.execute(sql, params).fetchall()


def page_number(environ: dict[str, Any]) -> int:
    """``?page=N`` (1 when absent)."""
    raw = dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise HTTPError("404 Not Found")
    return int(raw)


def html_page(rows: list[tuple], number: int) -> Page:
    """The numbered page of a feed window (a page past the end is a 404)."""
    total = rows[0][-1] if rows else 0
    if number > 1 and not rows:
        raise HTTPError("404 Not Found")
    return Page(
        items=[post_object(row) for row in rows],
        number=number,
        per_page=POSTS_PER_PAGE,
        total=total or 0,
    )


def home(environ: dict[str, Any]) -> str:
    """The home page (``?page=N``)."""
    number = page_number(environ)
    rows = feed_rows((number - 1) * POSTS_PER_PAGE, POSTS_PER_PAGE)
    return render("home.html", environ, page=html_page(rows, number))


def author_page(environ: dict[str, Any], username: str) -> str:
    """An author's page of published posts."""
    with connection().cursor() as cursor:
        user = cursor.execute(USER_SQL, (username,)).fetchone()
    if user is None:
        raise HTTPError("404 Not Found")
    number = page_number(environ)
    rows = feed_rows((number - 1) * POSTS_PER_PAGE, POSTS_PER_PAGE, author_id=user[4])
    author = SimpleNamespace(id=user[4], username=user[5], date_added=user[0])
    return render("author.html", environ, author=author, page=html_page(rows, number), drafts=[])


def read_post(post_id: int) -> tuple:
    """One published live post with its author's username; 404 otherwise."""
    with connection().cursor() as cursor:
        row = cursor.execute(POST_SQL, (post_id,)).fetchone()
    if row is None:
        raise HTTPError("404 Not Found")
    return row


def post_page(environ: dict[str, Any], post_id: int) -> str:
    """A post rendered from Markdown with its first page of comments."""
    post = post_object(read_post(post_id))
    number = page_number(environ)
    skip = (number - 1) * COMMENTS_PER_PAGE
    with connection().cursor() as cursor:
        rows = cursor.execute(COMMENTS_SQL, (post_id, COMMENTS_PER_PAGE, skip)).fetchall()
    comments = [
        SimpleNamespace(
            id=row[0], body_html=row[1], date_added=row[2], author=SimpleNamespace(username=row[3])
        )
        for row in rows
    ]
    page = Page(
        items=comments,
        number=number,
        per_page=COMMENTS_PER_PAGE,
        total=rows[0][4] if rows else 0,
    )
    return render(
        "posts/show.html", environ, post=post, comments=page, can_edit=False, form={}, errors={}
    )


def post_list(environ: dict[str, Any]) -> dict[str, Any]:
    """The API's list of newest published posts (no total)."""
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    skip, limit = int(query.get("skip", 0)), int(query.get("limit", 20))
    return {
        "success": True,
        "message": "OK",
        "data": [post_json(row[:-1]) for row in feed_rows(skip, limit)],
    }


def user_profile(username: str) -> dict[str, Any]:
    """A user's public profile."""
    with connection().cursor() as cursor:
        row = cursor.execute(USER_SQL, (username,)).fetchone()
    if row is None:
        raise HTTPError("404 Not Found")
    names = ("date_added", "date_updated", "added_by", "updated_by", "id", "username", "role")
    data = dict(zip(names, row, strict=True))
    data["date_added"], data["date_updated"] = (
        data["date_added"].isoformat(),
        data["date_updated"].isoformat(),
    )
    return {"success": True, "message": "OK", "data": data}


# -- the write -----------------------------------------------------------------------------


def writer_id(environ: dict[str, Any]) -> int:
    """The active user the bearer token names (HS256 signature checked); 401 otherwise."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    try:
        claims = jwt.decode(
            header.removeprefix("Bearer "), os.environ["SECRET_KEY"], algorithms=["HS256"]
        )
    except jwt.PyJWTError:
        raise HTTPError("401 Unauthorized") from None
    with connection().cursor() as cursor:
        row = cursor.execute(WRITER_SQL, (int(claims["sub"]), claims.get("ver", 1))).fetchone()
    if row is None:
        raise HTTPError("401 Unauthorized")
    return row[0]


def create_post(environ: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Insert a post and append its audit event in one transaction; the post and its id."""
    author_id = writer_id(environ)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    payload = json.loads(environ["wsgi.input"].read(length))
    title, body = payload["title"].strip(), payload["body"]
    status = payload.get("status", "draft")
    now = datetime.now(UTC)
    published_at = now if status == "published" else None
    slug = slugify(title, max_length=190, word_boundary=True) or "post"
    rendering = render_markdown_text(body)
    values = {
        "title": title,
        "slug": slug,
        "body": body,
        "body_html": rendering.html,
        "excerpt": rendering.excerpt,
        "rendered_with": rendering.rendered_with,
        "status": status,
        "published_at": published_at,
        "author_id": author_id,
        "now": now,
    }
    database = connection()
    with database.transaction(), database.cursor() as cursor:
        # The chain's lock first, as Inkwell's writes take it: writers that took it and the
        # feed counters' rows in different orders would deadlock each other.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_CHAIN_LOCK_KEY,))
        post_id = cursor.execute(INSERT_POST_SQL, values).fetchone()[0]
        head = cursor.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
        head_id, head_hash = head.fetchone() or (0, GENESIS_HASH)
        changes = {
            key: {"old": None, "new": values[key]}
            for key in ("title", "slug", "body", "status", "author_id")
        }
        changes["published_at"] = {"old": None, "new": published_at and published_at.isoformat()}
        event = {
            "id": head_id + 1,
            "occurred_at": datetime.now(UTC),
            "entity_type": "post",
            "entity_id": post_id,
            "action": "create",
            "changes": changes,
            "actor_id": author_id,
            "request_id": secrets.token_hex(16),
            "prev_hash": head_hash,
        }
        event["hash"] = event_hash(event)
        cursor.execute(
            INSERT_EVENT_SQL,
            {**event, "changes": json.dumps(changes, sort_keys=True, separators=(",", ":"))},
        )
    post = {
        "date_added": now.isoformat(),
        "date_updated": now.isoformat(),
        "added_by": author_id,
        "updated_by": author_id,
        "id": post_id,
        "title": title,
        "slug": slug,
        "body": body,
        "status": status,
        "published_at": published_at.isoformat() if published_at else None,
        "author": {"id": author_id},
        "version": 1,
        "deleted_at": None,
    }
    return {"success": True, "message": "Post created", "data": post}, post_id


# -- dispatch ------------------------------------------------------------------------------


def respond(
    start_response: Callable[..., Any],
    status: str,
    body: str,
    content_type: str,
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    """Send ``body`` with its length."""
    data = body.encode()
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


def dispatch(environ: dict[str, Any]) -> tuple[str, str, str, list[tuple[str, str]]]:
    """Status, body, content type and extra headers of the request ``environ``."""
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    json_type, html_type = "application/json", "text/html; charset=utf-8"
    parts = path.strip("/").split("/")
    if method == "POST" and path == "/api/v1/posts":
        document, post_id = create_post(environ)
        headers = [("Location", f"/api/v1/posts/{post_id}"), ("ETag", f'"post-{post_id}-v1"')]
        return "201 Created", json.dumps(document, separators=SEPARATORS), json_type, headers
    if method != "GET":
        raise HTTPError("405 Method Not Allowed")
    if path == "/health/live":
        return "200 OK", '{"status": "ok"}', json_type, []
    if path == "/api/v1/posts":
        return "200 OK", json.dumps(post_list(environ), separators=SEPARATORS), json_type, []
    if len(parts) == 4 and parts[:3] == ["api", "v1", "posts"] and parts[3].isdigit():
        row = read_post(int(parts[3]))
        document = {"success": True, "message": "OK", "data": post_json(row)}
        etag = f'"post-{row[4]}-v{row[11]}"'
        return "200 OK", json.dumps(document, separators=SEPARATORS), json_type, [("ETag", etag)]
    if len(parts) == 4 and parts[:3] == ["api", "v1", "users"]:
        return "200 OK", json.dumps(user_profile(parts[3]), separators=SEPARATORS), json_type, []
    if path == "/":
        return "200 OK", home(environ), html_type, []
    if len(parts) == 2 and parts[0] == "u":
        return "200 OK", author_page(environ, parts[1]), html_type, []
    if len(parts) == 2 and parts[0] == "posts" and parts[1].isdigit():
        return "200 OK", post_page(environ, int(parts[1])), html_type, []
    raise HTTPError("404 Not Found")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI entry point."""
    try:
        status, body, content_type, headers = dispatch(environ)
    except HTTPError as error:
        return respond(start_response, error.status, error.status, "text/plain")
    return respond(start_response, status, body, content_type, headers)
