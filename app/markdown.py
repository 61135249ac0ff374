"""Markdown to safe HTML: markdown-it-py renders, nh3 keeps only an allow-list.

Posts and comments are rendered once, when they are written (:func:`render`), and the
HTML and excerpt are stored with :data:`RENDERER_VERSION`; pages never render Markdown.
The version names everything the output depends on: the two packages' versions, the
parser's preset and rules, the allow-list and :data:`RULES_REVISION` (raise it when the
code here changes its output). ``flask posts rerender`` brings rows rendered by another
version up to date. Migration 0007 carries a copy of this configuration as it stood then.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from html import unescape
from importlib.metadata import version
from itertools import pairwise

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "dd",
        "del",
        "details",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "s",
        "sub",
        "summary",
        "sup",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
# Relative links stay allowed; any other scheme (javascript:, data:, vbscript:) is dropped.
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
PARSER_PRESET = "commonmark"
PARSER_OPTIONS = {"html": True}
PARSER_RULES = ("table", "strikethrough")
EXCERPT_LENGTH = 240
#: Raise when this module's code renders or cuts differently with the same settings.
RULES_REVISION = 1


def renderer_version() -> str:
    """The name of this renderer: package versions and a digest of every rule of ours."""
    rules = json.dumps(
        {
            "tags": sorted(ALLOWED_TAGS),
            "attributes": {tag: sorted(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
            "url_schemes": sorted(ALLOWED_URL_SCHEMES),
            "link_rel": LINK_REL,
            "parser": [PARSER_PRESET, PARSER_OPTIONS, list(PARSER_RULES)],
            "excerpt_length": EXCERPT_LENGTH,
            "revision": RULES_REVISION,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(rules.encode()).hexdigest()[:12]
    return f"markdown-it-py {version('markdown-it-py')}; nh3 {version('nh3')}; rules {digest}"


#: Stored with every rendering; a row with another value was rendered by another renderer.
RENDERER_VERSION = renderer_version()


@dataclass(frozen=True, slots=True)
class Rendering:
    """What is stored for a Markdown text: its safe HTML, its excerpt, and by what."""

    html: str
    excerpt: str
    rendered_with: str


@cache
def _parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough; raw HTML is parsed, then sanitised."""
    return MarkdownIt(PARSER_PRESET, dict(PARSER_OPTIONS)).enable(list(PARSER_RULES))


@cache
def _cleaner() -> nh3.Cleaner:
    """The sanitiser, built once: only the allow-listed tags, attributes and URL schemes."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def sanitize_html(html: str) -> str:
    """Keep only allow-listed tags, attributes and URL schemes of ``html``."""
    return _cleaner().clean(html)


def render_markdown(text: str) -> Markup:
    """Render Markdown ``text`` to sanitised HTML, safe to insert into a page."""
    return Markup(sanitize_html(_parser().render(text or "")))  # noqa: S704 - sanitised above


def plain_text(text: str) -> str:
    """The words of Markdown ``text`` without any markup, whitespace collapsed."""
    html = _cleaner_text().clean(_parser().render(text or ""))
    return " ".join(unescape(html).split())


@cache
def _cleaner_text() -> nh3.Cleaner:
    """A sanitiser that keeps no tag at all, only text."""
    return nh3.Cleaner(tags=set(), strip_comments=True)


def _paragraph_text(text: str) -> str:
    """The plain text of the top-level paragraphs of ``text`` (no headings, lists or code)."""
    parser = _parser()
    tokens = parser.parse(text or "")
    parts = [
        parser.renderInline(inline.content)
        for opening, inline in pairwise(tokens)
        if opening.type == "paragraph_open" and opening.level == 0 and inline.type == "inline"
    ]
    return " ".join(unescape(_cleaner_text().clean(" ".join(parts))).split())


def excerpt(text: str, length: int = EXCERPT_LENGTH) -> str:
    """The opening of ``text`` as plain text, at most ``length`` characters, cut between words.

    Paragraphs are preferred; a text without any (only a list or a heading) falls back to
    all its words.
    """
    words = _paragraph_text(text) or plain_text(text)
    if len(words) <= length:
        return words
    cut = words[:length].rsplit(" ", 1)[0] or words[:length]
    return cut.rstrip(" ,.;:") + "…"


def render(text: str) -> Rendering:
    """Everything stored for Markdown ``text`` when it is written: HTML, excerpt, version."""
    return Rendering(
        html=sanitize_html(_parser().render(text or "")),
        excerpt=excerpt(text),
        rendered_with=RENDERER_VERSION,
    )
