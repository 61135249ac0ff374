"""Reading pages: the home page, a post with its comments, an author's page."""

from __future__ import annotations

import re

import pytest

from app.web.posts import COMMENTS_PER_PAGE, POSTS_PER_PAGE
from tests.web_helpers import BROWSER, page_text, sign_in, submit


def post_titles(response) -> list[str]:
    """The titles of the posts listed on a page, in order."""
    return re.findall(r'<h2><a href="/posts/\d+">([^<]*)</a></h2>', page_text(response))


def page_numbers(response) -> list[str]:
    """The page links of a page's pagination, ``…`` for a gap."""
    html = page_text(response)
    nav = re.search(r'<nav class="pagination".*?</nav>', html, re.S)
    if nav is None:
        return []
    return re.findall(r">(\d+|…)</(?:a|li)>", nav.group(0))


def test_home_lists_published_posts_newest_first(client, make_post):
    for title in ("first", "second", "third"):
        make_post(title=title)
    response = client.get("/")
    assert response.status_code == 200
    assert post_titles(response) == ["third", "second", "first"]


def test_home_hides_drafts(client, make_post):
    make_post(title="Public words")
    make_post(title="Secret draft", status="draft")
    assert post_titles(client.get("/")) == ["Public words"]


def test_home_with_no_posts_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Nothing has been published yet." in page_text(response)


def test_home_second_page_continues_where_the_first_ends(client, make_user, make_post):
    author = make_user()
    for number in range(POSTS_PER_PAGE + 3):
        make_post(author, title=f"post {number:02d}")
    first, second = client.get("/"), client.get("/?page=2")
    assert len(post_titles(first)) == POSTS_PER_PAGE
    assert post_titles(second) == ["post 02", "post 01", "post 00"]
    assert 'rel="next" href="/?page=2"' in page_text(first)
    assert 'rel="prev" href="/"' in page_text(second)


def test_home_shows_an_ellipsis_on_long_page_ranges(client, make_user, make_post):
    author = make_user()
    for _ in range(POSTS_PER_PAGE * 6 + 1):
        make_post(author)
    assert page_numbers(client.get("/")) == ["1", "2", "3", "…", "7"]
    assert page_numbers(client.get("/?page=7")) == ["1", "…", "5", "6", "7"]


def test_current_page_is_marked(client, make_user, make_post):
    author = make_user()
    for _ in range(POSTS_PER_PAGE + 1):
        make_post(author)
    assert 'aria-current="page" href="/?page=2">2<' in page_text(client.get("/?page=2"))


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", "2", "99999999999999999999", "1e2"])
def test_bad_or_missing_home_pages_are_a_friendly_404(client, make_post, page):
    make_post()
    response = client.get(f"/?page={page}", headers=BROWSER)
    assert response.status_code == 404
    html = page_text(response)
    assert "There is no such page" in html
    assert response.headers["X-Request-ID"] in html
    assert '<header class="site-header">' in html


def test_home_excerpts_are_escaped_text(client, make_post):
    make_post(body='Intro <img src=x onerror="alert(1)"> and `<script>alert(1)</script>`')
    html = page_text(client.get("/"))
    excerpt = re.search(r'<p class="excerpt">([^<]*)</p>', html).group(1)
    assert excerpt == "Intro and &lt;script&gt;alert(1)&lt;/script&gt;"


def test_post_page_renders_markdown(client, make_post):
    post = make_post(
        title="Formatted", body="## Heading\n\n**bold** and [link](https://example.com)"
    )
    html = page_text(client.get(f"/posts/{post.id}"))
    assert "<h2>Heading</h2>" in html
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">link</a>' in html


def test_post_page_sanitises_hostile_markdown(client, make_post):
    body = (
        '<script>alert("x")</script>\n\n<img src=x onerror="alert(1)">\n\n'
        '[click](javascript:alert(1))\n\n<iframe src="https://evil.example"></iframe>'
    )
    post = make_post(body=body)
    html = page_text(client.get(f"/posts/{post.id}"))
    article = html.split('<div class="prose">', 1)[1].split("</article>", 1)[0]
    assert "<script" not in article
    assert "onerror" not in article
    assert 'href="javascript:' not in article
    assert "<iframe" not in article


def test_post_page_escapes_the_title(client, make_post):
    post = make_post(title="<b>Tags</b> & more")
    html = page_text(client.get(f"/posts/{post.id}"))
    assert "<h1>&lt;b&gt;Tags&lt;/b&gt; &amp; more</h1>" in html


def test_post_page_shows_author_and_publication_date(client, make_user, make_post):
    post = make_post(make_user("writer"))
    html = page_text(client.get(f"/posts/{post.id}"))
    assert 'by <a href="/u/writer">writer</a>' in html
    assert f'<time datetime="{post.published_at.isoformat(timespec="seconds")}' in html


def test_post_page_lists_comments_oldest_first(client, make_post, make_comment):
    post = make_post()
    for body in ("one", "two", "three"):
        make_comment(post, body=body)
    html = page_text(client.get(f"/posts/{post.id}"))
    assert html.index("<p>one</p>") < html.index("<p>two</p>") < html.index("<p>three</p>")
    assert "Comments (3)" in html


def test_post_comments_are_paginated(client, make_user, make_post, make_comment):
    post, reader = make_post(), make_user()
    for number in range(COMMENTS_PER_PAGE + 2):
        make_comment(post, reader, body=f"comment {number:02d}")
    first = page_text(client.get(f"/posts/{post.id}"))
    second = page_text(client.get(f"/posts/{post.id}?page=2"))
    assert "comment 19" in first and "comment 20" not in first
    assert "comment 20" in second and "comment 21" in second and "comment 19" not in second
    assert f'rel="next" href="/posts/{post.id}?page=2"' in first


@pytest.mark.parametrize("page", ["0", "abc", "3"])
def test_bad_comment_pages_are_not_found(client, make_post, page):
    post = make_post()
    assert client.get(f"/posts/{post.id}?page={page}", headers=BROWSER).status_code == 404


def test_anonymous_readers_are_invited_to_sign_in_to_comment(client, make_post):
    post = make_post()
    html = page_text(client.get(f"/posts/{post.id}"))
    assert 'action="/posts/' not in html
    assert f'href="/login?next=/posts/{post.id}"' in html


@pytest.mark.parametrize("path", ["/posts/999", "/posts/abc", "/posts/99999999999999999999999"])
def test_unknown_posts_are_not_found(client, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_drafts_are_not_found_for_anonymous_readers(client, make_post):
    post = make_post(status="draft")
    assert client.get(f"/posts/{post.id}", headers=BROWSER).status_code == 404


def test_drafts_are_not_found_for_other_users(client, make_user, make_post):
    post = make_post(status="draft")
    sign_in(client, make_user())
    assert client.get(f"/posts/{post.id}", headers=BROWSER).status_code == 404


@pytest.mark.parametrize("who", ["author", "admin"])
def test_drafts_are_shown_to_their_author_and_admins(client, make_user, make_admin, make_post, who):
    author = make_user()
    post = make_post(author, status="draft", title="Work in progress")
    sign_in(client, author if who == "author" else make_admin())
    response = client.get(f"/posts/{post.id}")
    assert response.status_code == 200
    assert '<span class="badge">Draft</span>' in page_text(response)


def test_author_page_lists_their_published_posts(client, make_user, make_post):
    alice, bob = make_user("alice"), make_user("bob")
    make_post(alice, title="by alice")
    make_post(bob, title="by bob")
    make_post(alice, title="alice draft", status="draft")
    response = client.get("/u/alice")
    assert response.status_code == 200
    assert post_titles(response) == ["by alice"]


def test_author_page_shows_the_author_their_drafts(client, make_user, make_post):
    alice = make_user("alice")
    make_post(alice, title="alice draft", status="draft")
    sign_in(client, alice)
    assert "alice draft" in page_text(client.get("/u/alice"))


def test_author_page_hides_drafts_from_others(client, make_user, make_post):
    alice = make_user("alice")
    make_post(alice, title="alice draft", status="draft")
    sign_in(client, make_user("bob"))
    assert "alice draft" not in page_text(client.get("/u/alice"))


def test_author_page_ignores_username_case(client, make_user):
    make_user("Alice")
    assert client.get("/u/alice").status_code == 200


def test_author_page_is_paginated(client, make_user, make_post):
    alice = make_user("alice")
    for number in range(POSTS_PER_PAGE + 1):
        make_post(alice, title=f"alice {number:02d}")
    assert post_titles(client.get("/u/alice?page=2")) == ["alice 00"]
    assert 'href="/u/alice?page=2"' in page_text(client.get("/u/alice"))


@pytest.mark.parametrize(
    "path",
    [
        "/u/nobody",
        "/u/" + "x" * 300,
        "/u/ali%00ce",
        "/u/al ice",
        "/u/alice?page=2",
        "/u/alice?page=0",
    ],
)
def test_unknown_authors_and_pages_are_not_found(client, make_user, path):
    make_user("alice")
    assert client.get(path, headers=BROWSER).status_code == 404


def test_deleted_posts_are_not_found(client, make_user, make_post):
    author = make_user()
    post = make_post(author)
    sign_in(client, author)
    submit(client, f"/posts/{post.id}/delete", f"/posts/{post.id}/delete")
    assert client.get(f"/posts/{post.id}", headers=BROWSER).status_code == 404
    assert post_titles(client.get("/")) == []
