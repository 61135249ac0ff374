"""The bounds of every list, in the API and the pages."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import MAX_SKIP, QueryInt, QueryModel

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Pagination(QueryModel):
    """``skip`` (>= 0) and ``limit`` (1..100) of every list, in the API and the pages."""

    skip: QueryInt = Field(0, ge=0, le=MAX_SKIP, description="How many items to skip")
    limit: QueryInt = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many items to return (1..100)"
    )
