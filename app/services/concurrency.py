"""Optimistic concurrency and conditional reads: versions, record ETags, ``If-Match``.

Posts and comments carry a ``version`` (SQLAlchemy's ``version_id_col``) that every
committed write increments. Their entity tag is built (:func:`etag_for`,
:func:`record_tag`) and parsed (:func:`versions_from_if_match`) here, in one format:
``"<entity>-<id>-v<version>"``, with ``-deleted-author`` appended while the author's
account is soft-deleted.

Why the suffix: a record's JSON shows its author, and that changes to ``null`` when the
account is deleted (and back on restore) without a write to the record, so without
the version changing. An ETag must change whenever the representation does, or
``If-None-Match`` would answer 304 for a stale body; the attribution is the only part
of a post's or comment's representation that changes without a write (the username
never changes, deactivation shows the author as usual, stored HTML is not in the JSON).

``If-Match`` guards writes against lost updates of the record itself, so it compares
the version only: a tag taken before the author's account was deleted or restored
still names the same fields the write would overwrite. Callers pass the versions they
read as ``expected_version``; :func:`check_version` enforces them.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from app.models.base import VersionedMixin
from app.services.errors import PreconditionFailed, StaleVersion

ExpectedVersion = int | Collection[int] | None

# ASCII digits only, and no more than a 64-bit number has: a tag with a longer or non-ASCII
# number names no version of ours, and must not reach int() (which refuses huge strings).
_ENTITY_TAG = re.compile(
    r'"(?P<entity>[a-z]+)-(?P<id>[0-9]{1,19})-v(?P<version>[0-9]{1,19})'
    r'(?:-deleted-author)?"'
)
DELETED_AUTHOR = "-deleted-author"


def record_tag(entity: str, record_id: int, version: int, *, author_shown: bool) -> str:
    """The strong entity tag (unquoted) of a record at ``version``, as its author is shown."""
    return f"{entity}-{record_id}-v{version}" + ("" if author_shown else DELETED_AUTHOR)


def etag_for(record: VersionedMixin) -> str:
    """The quoted ``ETag`` of ``record``: it changes with every write and with attribution."""
    entity = getattr(record, "__audit_entity__", type(record).__name__.lower())
    author_shown = getattr(record, "byline", True) is not None
    tag = record_tag(entity, record.id, record.version, author_shown=author_shown)  # type: ignore[attr-defined]
    return f'"{tag}"'


def check_version(entity: str, obj: VersionedMixin, expected: ExpectedVersion) -> None:
    """PreconditionFailed when the caller expected another version than the current one."""
    if expected is None:
        return
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if obj.version not in allowed:
        raise PreconditionFailed(entity, obj.id, obj.version)  # type: ignore[attr-defined]


def stale_write_error(entity: str, entity_id: int, expected: ExpectedVersion) -> Exception:
    """The error for a write that lost a race: 412 if the caller sent If-Match, else 409."""
    if expected is not None:
        return PreconditionFailed(entity, entity_id)
    return StaleVersion(entity, entity_id)


def versions_from_if_match(if_match: str | None, entity: str, entity_id: int) -> ExpectedVersion:
    """The versions an ``If-Match`` header accepts, for ``expected_version``.

    None when there is no header or it is ``*``; an empty set (which no version matches)
    when it names only other entities or weak tags, since If-Match compares strongly.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    versions = set()
    for match in _ENTITY_TAG.finditer(if_match):
        start = match.start()
        weak = if_match[max(start - 2, 0) : start] == "W/"
        if not weak and match["entity"] == entity and int(match["id"]) == entity_id:
            versions.add(int(match["version"]))
    return versions
