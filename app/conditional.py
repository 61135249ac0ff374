"""Conditional GETs of public reads: a strong ETag from state every write changes, and 304.

Anonymous readers (no token, no session cookie) of the pages and of the API's public
lists all see the same representation of a URL, which changes only when content does.
Every write appends an audit event, so the newest event's id (one index read) is the
version of all content, on every worker and host at once; the views read it in the same
statement as their content. The ETag combines it with the URL, the app's name and version
(templates and formats change with a release) and the Markdown renderer's version
(``flask posts rerender`` changes stored HTML without a write):

* a request whose ``If-None-Match`` holds the current tag gets a 304 before the view runs:
  no page query, no template;
* any other anonymous response carries the tag and ``Cache-Control: public, no-cache``, so
  a shared cache in front can keep it and revalidate instead of asking for it anew;
* requests with credentials are not conditional, and their responses are ``private``.

Single records (a post, a comment) have their own tags, from their version (see
:mod:`app.services.concurrency`): :func:`unchanged_record` answers their
``If-None-Match`` with a 304 from one small query, for every viewer who may see them.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, make_response, request

from app.markdown import RENDERER_VERSION
from app.services import audit_service

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
PUBLIC = "public, no-cache"
PRIVATE = "private"
#: Where a view leaves the content version it read (see content_read_at).
CONTENT_VERSION_KEY = "inkwell_content_version"


def is_anonymous() -> bool:
    """Whether the request carries no credentials: no Authorization, no session cookie."""
    if "Authorization" in request.headers:
        return False
    return current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def content_tag(version: int) -> str:
    """The strong ETag of this URL's public representation at content ``version``."""
    settings = current_app.extensions["inkwell.settings"]
    url = request.full_path
    parts = (settings.app_name, settings.app_version, RENDERER_VERSION, url)
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
    return f"c{version}-{digest}"


def content_read_at(version: int | None) -> None:
    """Tell :func:`conditional` the content's version that the view read in the same
    statement as the content it shows (see ``version`` in ``app.services.pages``).

    Only a version read no later than every row the view shows may name the answer: a
    newer one could make a client keep stale content. Of several, the oldest counts.
    """
    if version is None:
        return
    seen = g.get(CONTENT_VERSION_KEY)
    setattr(g, CONTENT_VERSION_KEY, version if seen is None else min(seen, version))


def unchanged_record(current_tag: Callable[[], str | None]) -> Response | None:
    """A 304 when ``If-None-Match`` names the record's current tag; else None.

    ``current_tag`` (the record's tag as this viewer would get it, None when they would
    get a 404) runs only when the request carries ``If-None-Match``.
    """
    if not request.if_none_match:
        return None
    tag = current_tag()
    if tag is None or not request.if_none_match.contains_weak(tag):
        return None
    not_modified = Response(status=304)
    not_modified.set_etag(tag)
    return not_modified


def conditional(view: ViewT) -> ViewT:
    """Answer anonymous GETs of ``view`` conditionally (ETag, 304); mark the rest private.

    A request with ``If-None-Match`` reads the version first (one index read) and gets a
    304 without running the view when its tag is current. Any other request runs the view,
    whose answer is tagged with the version it read along with its content
    (:func:`content_read_at`), so a 200 costs no round trip of its own for its ETag; an
    answer whose view reported no version goes out untagged, never with a newer tag.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD") or not is_anonymous():
            response = make_response(view(*args, **kwargs))
            response.headers["Cache-Control"] = PRIVATE
            return response
        tag = None
        if request.if_none_match:
            tag = content_tag(audit_service.latest_event_id())
            if request.if_none_match.contains(tag):
                not_modified = Response(status=304)
                not_modified.set_etag(tag)
                not_modified.headers["Cache-Control"] = PUBLIC
                return not_modified
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200:
            version = g.pop(CONTENT_VERSION_KEY, None)
            if tag is None and version is not None:
                tag = content_tag(version)
            if tag is not None:
                response.set_etag(tag)
            response.headers["Cache-Control"] = PUBLIC
        return response

    return wrapper  # type: ignore[return-value]
