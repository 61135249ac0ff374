"""JSON request bodies that no nesting depth or number size can turn into a 500."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reporting a body nested too deeply as malformed JSON.

    Python's parser gives up on deep nesting (``[[[[...``) with a RecursionError, which
    Flask would not treat as bad input; as a ValueError it becomes the usual 400. Integers
    with more digits than Python converts already fail with a ValueError.
    """

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s``; ValueError for anything that is not usable JSON."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
