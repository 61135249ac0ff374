"""Page numbers of the HTML lists: parsing ``?page=`` and the links with ellipses."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound

from app.errors import ValidationFailed
from app.schemas import MAX_LIMIT
from app.web.pagination import (
    Page,
    check_page_exists,
    page_count,
    page_links,
    page_window,
    parse_page,
)


@pytest.mark.parametrize(("raw", "expected"), [(None, 1), ("1", 1), ("7", 7), ("007", 7)])
def test_valid_page_numbers_are_parsed(raw, expected):
    assert parse_page(raw) == expected


@pytest.mark.parametrize(
    "raw", ["0", "-1", "abc", "1.5", "", " 2", "2 ", "1e3", "+3", "٣", "9999999999", "0x10"]
)
def test_invalid_page_numbers_are_not_found(raw):
    with pytest.raises(NotFound):
        parse_page(raw)


@pytest.mark.parametrize(
    ("page", "per_page", "skip", "limit"), [(1, 20, 0, 20), (2, 20, 20, 20), (5, 10, 40, 10)]
)
def test_page_n_maps_to_skip_and_limit(page, per_page, skip, limit):
    window = page_window(page, per_page)
    assert (window.skip, window.limit) == (skip, limit)


def test_page_size_is_held_to_the_shared_pagination_bounds():
    with pytest.raises(ValidationFailed):
        page_window(1, MAX_LIMIT + 1)


@pytest.mark.parametrize(
    ("total", "per_page", "pages"), [(0, 10, 1), (1, 10, 1), (10, 10, 1), (11, 10, 2), (45, 10, 5)]
)
def test_page_count_rounds_up_and_is_at_least_one(total, per_page, pages):
    assert page_count(total, per_page) == pages


@pytest.mark.parametrize(("page", "total"), [(1, 0), (1, 10), (2, 11), (5, 45)])
def test_existing_pages_pass(page, total):
    check_page_exists(page, total, 10)


@pytest.mark.parametrize(("page", "total"), [(2, 0), (2, 10), (3, 11), (6, 45)])
def test_pages_past_the_end_are_not_found(page, total):
    with pytest.raises(NotFound):
        check_page_exists(page, total, 10)


@pytest.mark.parametrize(
    ("current", "pages", "expected"),
    [
        (1, 1, [1]),
        (1, 2, [1, 2]),
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 10, [1, 2, 3, None, 10]),
        (5, 10, [1, 2, 3, 4, 5, 6, 7, None, 10]),
        (6, 10, [1, None, 4, 5, 6, 7, 8, 9, 10]),
        (10, 10, [1, None, 8, 9, 10]),
        (50, 100, [1, None, 48, 49, 50, 51, 52, None, 100]),
        (4, 7, [1, 2, 3, 4, 5, 6, 7]),
    ],
)
def test_page_links_elide_long_ranges(current, pages, expected):
    assert page_links(current, pages) == expected


def test_an_ellipsis_never_stands_for_a_single_page():
    for pages in range(1, 30):
        for current in range(1, pages + 1):
            links = page_links(current, pages)
            numbers = [n for n in links if n is not None]
            assert numbers == sorted(numbers)
            for before, gap, after in zip(links, links[1:], links[2:], strict=False):
                if gap is None:
                    assert after - before > 2


def test_page_links_always_include_first_current_and_last():
    for pages in range(1, 30):
        for current in range(1, pages + 1):
            links = page_links(current, pages)
            assert {1, current, pages} <= set(links)


@pytest.mark.parametrize(
    ("number", "total", "has_prev", "has_next"),
    [(1, 0, False, False), (1, 25, False, True), (2, 25, True, True), (3, 25, True, False)],
)
def test_page_knows_its_neighbours(number, total, has_prev, has_next):
    page = Page(items=[], number=number, per_page=10, total=total)
    assert (page.has_prev, page.has_next) == (has_prev, has_next)
