"""Each page is read in as few statements as its data allows: one, the ETag's version in it."""

from __future__ import annotations

import pytest

from tests.db_helpers import statements_of
from tests.web_helpers import BROWSER


@pytest.fixture
def post(make_user, make_post, make_comment):
    """A published post of ``writer`` with three comments, among other posts."""
    writer, reader = make_user("writer"), make_user("reader")
    for number in range(3):
        make_post(writer, title=f"Older {number}")
    post = make_post(writer, title="Discussed")
    for _ in range(3):
        make_comment(post, reader)
    return post


@pytest.mark.parametrize("path", ["/", "/posts/{id}", "/u/writer"])
def test_an_anonymous_page_is_one_statement_with_its_etag_version(app, client, post, path):
    url = path.format(id=post.id)
    client.get(url, headers=BROWSER)  # warm-up: connection set-up is not the page's cost
    with statements_of(app) as sent:
        response = client.get(url, headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["ETag"]
    assert len(sent) == 1, sent
    assert "audit_events" in sent[0] and "posts" in sent[0]


def test_the_post_page_reads_post_comments_and_total_together(app, client, post):
    client.get(f"/posts/{post.id}", headers=BROWSER)
    with statements_of(app) as sent:
        html = client.get(f"/posts/{post.id}", headers=BROWSER).get_data(as_text=True)
    assert "Comments (3)" in html
    assert html.count('class="comment"') == 3
    [page_read] = sent
    assert "comments" in page_read and "posts" in page_read


@pytest.mark.parametrize("path", ["/?page=2", "/u/writer?page=2", "/posts/{id}?page=2"])
def test_a_later_page_takes_at_most_one_more_statement(app, client, post, path, monkeypatch):
    monkeypatch.setattr("app.web.posts.POSTS_PER_PAGE", 2)
    monkeypatch.setattr("app.web.posts.COMMENTS_PER_PAGE", 2)
    url = path.format(id=post.id)
    client.get(url, headers=BROWSER)
    with statements_of(app) as sent:
        assert client.get(url, headers=BROWSER).status_code == 200
    # The total (and the version) first, where PostgreSQL may walk the window in from the
    # far end.
    assert len(sent) <= 2, sent


def test_the_api_post_is_one_statement(app, client, post):
    client.get(f"/api/v1/posts/{post.id}")
    with statements_of(app) as sent:
        assert client.get(f"/api/v1/posts/{post.id}").status_code == 200
    assert len(sent) == 1, sent
