"""Page numbers of the HTML lists: parsing ``?page=N`` and computing the page links."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Generic, TypeVar

from werkzeug.exceptions import NotFound

from app.schemas import Pagination, validate

# More digits than this cannot name an existing page and would overflow SQL OFFSET.
MAX_PAGE_DIGITS = 9
PAGE_NOT_FOUND = "There is no such page"

ItemT = TypeVar("ItemT")


def parse_page(raw: str | None) -> int:
    """The page number of ``?page=``: 1 when absent, a 404 unless a plain integer >= 1."""
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS) or int(raw) < 1:
        raise NotFound(PAGE_NOT_FOUND)
    return int(raw)


def page_window(page: int, per_page: int) -> Pagination:
    """The ``skip``/``limit`` of page ``page``, within the one set of pagination bounds."""
    return validate(Pagination, {"skip": (page - 1) * per_page, "limit": per_page})


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill (at least one, so an empty list has page 1)."""
    return max(1, ceil(total / per_page))


def page_links(current: int, pages: int, around: int = 2, edge: int = 1) -> list[int | None]:
    """Page numbers to link, with ``None`` where a run of pages is elided.

    The first and last ``edge`` pages and ``around`` pages either side of ``current`` are
    shown; a gap of exactly one page is shown as that page rather than an ellipsis.
    """
    wanted = set(range(1, min(edge, pages) + 1))
    wanted |= set(range(max(1, pages - edge + 1), pages + 1))
    wanted |= set(range(max(1, current - around), min(pages, current + around) + 1))
    links: list[int | None] = []
    previous = 0
    for number in sorted(wanted):
        if number - previous == 2:
            links.append(previous + 1)
        elif number - previous > 2:
            links.append(None)
        links.append(number)
        previous = number
    return links


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    """One page of a list: its items and where it sits among the others."""

    items: list[ItemT]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return page_count(self.total, self.per_page)

    @property
    def has_prev(self) -> bool:
        """Whether a previous page exists."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """Whether a next page exists."""
        return self.number < self.pages

    @property
    def links(self) -> list[int | None]:
        """The page numbers to link, ``None`` for an ellipsis."""
        return page_links(self.number, self.pages)


def check_page_exists(page: int, total: int, per_page: int) -> None:
    """A page past the end is a 404 (page 1 of an empty list exists)."""
    if page > page_count(total, per_page):
        raise NotFound(PAGE_NOT_FOUND)
