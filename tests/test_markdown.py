"""Markdown rendering keeps formatting and drops anything that could run code."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from markupsafe import Markup

from app.markdown import ALLOWED_TAGS, ALLOWED_URL_SCHEMES, excerpt, render_markdown

# Vectors from the OWASP XSS filter evasion cheat sheet and the HTML5 security cheat sheet,
# written the way an author could type them into a post body.
HOSTILE_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    '<IMG SRC="javascript:alert(1);">',
    "<IMG SRC=JaVaScRiPt:alert(1)>",
    '<IMG SRC="jav&#x09;ascript:alert(1);">',
    '<IMG SRC="jav&#x0A;ascript:alert(1);">',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href=" javascript:alert(1)">click</a>',
    '<a href="JAVASCRIPT:alert(1)">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "![img](javascript:alert(1))",
    '![img](x "title" onerror="alert(1)")',
    "<javascript:alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<body onload="alert(1)">',
    '<div onmouseover="alert(1)">hover</div>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<form action="https://evil.example"><input name="password"></form>',
    '<button formaction="javascript:alert(1)">go</button>',
    '<details open ontoggle="alert(1)"><summary>x</summary></details>',
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    "<!--<img src=x onerror=alert(1)>-->",
    '<img """><script>alert(1)</script>">',
    "<<script>alert(1);//<</script>",
    '<video><source onerror="alert(1)"></video>',
    '<input autofocus onfocus="alert(1)">',
    '<marquee onstart="alert(1)">x</marquee>',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    "`<script>alert(1)</script>` and\n\n    <script>alert(1)</script>",
]


class TagCollector(HTMLParser):
    """Collect every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def parse_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The start tags of ``html``."""
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector.tags


def url_is_safe(url: str) -> bool:
    """A relative URL or one whose scheme is allow-listed."""
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme == "" or scheme in ALLOWED_URL_SCHEMES


@pytest.mark.parametrize("source", HOSTILE_CORPUS)
def test_hostile_markdown_keeps_only_allowed_tags(source):
    tags = parse_tags(render_markdown(source))
    assert {tag for tag, _ in tags} <= ALLOWED_TAGS


@pytest.mark.parametrize("source", HOSTILE_CORPUS)
def test_hostile_markdown_loses_event_handlers_and_styles(source):
    for tag, attrs in parse_tags(render_markdown(source)):
        names = {name for name, _ in attrs}
        assert not any(name.startswith("on") for name in names), (tag, attrs)
        assert not names & {"style", "srcdoc", "formaction", "background"}, (tag, attrs)


@pytest.mark.parametrize("source", HOSTILE_CORPUS)
def test_hostile_markdown_keeps_no_dangerous_url(source):
    for tag, attrs in parse_tags(render_markdown(source)):
        for name, value in attrs:
            if name in ("href", "src", "cite", "action") and value is not None:
                assert url_is_safe(value), (tag, name, value)


@pytest.mark.parametrize("source", HOSTILE_CORPUS)
def test_hostile_markdown_leaves_no_live_script_or_frame(source):
    html = str(render_markdown(source)).lower()
    for fragment in ("<script", "<iframe", "<object", "<embed", "<svg", "<style", "<base"):
        assert fragment not in html


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Title", "<h1>Title</h1>"),
        ("*em* and **strong**", "<em>em</em> and <strong>strong</strong>"),
        ("~~gone~~", "<s>gone</s>"),
        ("- one\n- two", "<li>one</li>"),
        ("3. three", '<ol start="3">'),
        ("> quoted", "<blockquote>"),
        ("`a < b`", "<code>a &lt; b</code>"),
        ("```\nprint(1)\n```", "<pre><code>print(1)\n</code></pre>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<td>1</td>"),
        ("![alt text](/static/x.png)", '<img src="/static/x.png" alt="alt text">'),
        ("<details><summary>More</summary>hidden</details>", "<summary>More</summary>"),
    ],
)
def test_markdown_formatting_is_rendered(source, expected):
    assert expected in render_markdown(source)


def test_links_keep_their_target_and_get_a_safe_rel():
    html = str(render_markdown("[site](https://example.com/a?b=1)"))
    assert 'href="https://example.com/a?b=1"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


def test_plain_text_is_escaped_not_interpreted():
    assert "5 &gt; 3 &amp; 2 &lt; 4" in render_markdown("5 > 3 & 2 < 4")


def test_rendered_markdown_is_markup_safe_for_templates():
    assert isinstance(render_markdown("text"), Markup)


def test_empty_body_renders_to_nothing():
    assert render_markdown("") == ""


def test_excerpt_is_plain_text_of_the_paragraphs():
    source = "# Heading\n\nFirst **bold** [link](https://example.com).\n\n- item\n\nLast `code`."
    assert excerpt(source) == "First bold link. Last code."


def test_excerpt_falls_back_to_all_words_without_paragraphs():
    assert excerpt("- one\n- two") == "one two"


def test_excerpt_is_cut_between_words_with_an_ellipsis():
    assert excerpt("alpha beta gamma delta", length=12) == "alpha beta…"


# -- the stored rendering and its version ---------------------------------------------------


def test_the_renderer_version_names_both_packages_and_their_versions():
    from importlib.metadata import version

    from app.markdown import RENDERER_VERSION

    assert f"markdown-it-py {version('markdown-it-py')}" in RENDERER_VERSION
    assert f"nh3 {version('nh3')}" in RENDERER_VERSION


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALLOWED_TAGS", ALLOWED_TAGS | {"iframe"}),
        ("ALLOWED_URL_SCHEMES", ALLOWED_URL_SCHEMES | {"ftp"}),
        ("LINK_REL", "nofollow"),
        ("PARSER_RULES", ("table",)),
        ("EXCERPT_LENGTH", 100),
        ("RULES_REVISION", 2),
    ],
)
def test_the_renderer_version_changes_with_each_rule(monkeypatch, name, value):
    from app import markdown

    before = markdown.renderer_version()
    monkeypatch.setattr(markdown, name, value)
    assert markdown.renderer_version() != before


def test_the_renderer_version_changes_with_a_package_version(monkeypatch):
    from app import markdown

    before = markdown.renderer_version()
    monkeypatch.setattr(markdown, "version", lambda name: "99.0" if name == "nh3" else "4.3.0")
    assert markdown.renderer_version() != before


def test_render_is_what_the_filters_made_of_the_same_text():
    from app.markdown import RENDERER_VERSION, render

    source = "# Title\n\nSome *text* <script>x()</script> and [a](javascript:x)."
    rendering = render(source)
    assert rendering.html == str(render_markdown(source))
    assert rendering.excerpt == excerpt(source)
    assert rendering.rendered_with == RENDERER_VERSION
