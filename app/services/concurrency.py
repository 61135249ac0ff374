"""Optimistic concurrency: versions, ETags and ``If-Match``.

Posts and comments carry a ``version`` (SQLAlchemy's ``version_id_col``) that every
committed write increments. Their entity tag is built (:func:`etag_for`) and parsed
(:func:`versions_from_if_match`) here, in one format: ``"<entity>-<id>-v<version>"``.
Callers pass the version they read as ``expected_version`` to enforce ``If-Match``.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from app.models.base import VersionedMixin
from app.services.errors import PreconditionFailed, StaleVersion

ExpectedVersion = int | Collection[int] | None

# ASCII digits only, and no more than a 64-bit number has: a tag with a longer or non-ASCII
# number names no version of ours, and must not reach int() (which refuses huge strings).
_ENTITY_TAG = re.compile(r'"(?P<entity>[a-z]+)-(?P<id>[0-9]{1,19})-v(?P<version>[0-9]{1,19})"')


def etag_for(record: VersionedMixin) -> str:
    """The strong entity tag of ``record``: it changes with every committed write."""
    entity = getattr(record, "__audit_entity__", type(record).__name__.lower())
    return f'"{entity}-{record.id}-v{record.version}"'  # type: ignore[attr-defined]


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
