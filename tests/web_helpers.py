"""Helpers for page tests: a browser's Accept header, CSRF tokens and filling in forms."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from app.auth import SESSION_ID_KEY, SESSION_USER_KEY, SESSION_VERSION_KEY, new_credential_id
from tests.conftest import DEFAULT_PASSWORD

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, page: str) -> str:
    """The CSRF token of the form on ``page``, as a browser would read it."""
    response = client.get(page, headers=BROWSER)
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {page} (status {response.status_code})"
    return match.group(1)


def submit(client, page: str, action: str, data: dict | None = None, **kwargs):
    """Open ``page``, then post ``data`` to ``action`` with the page's CSRF token."""
    fields = {"csrf_token": csrf_token(client, page), **(data or {})}
    return client.post(action, data=fields, headers=BROWSER, **kwargs)


def log_in(client, user, password: str = DEFAULT_PASSWORD):
    """Sign ``user`` in through the login form."""
    response = submit(client, "/login", "/login", {"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def sign_in(client, user) -> None:
    """Put ``user`` into the client's session, as the login form does (without its hashing)."""
    with client.session_transaction() as session:
        session.clear()
        session[SESSION_USER_KEY] = user.id
        session[SESSION_ID_KEY] = new_credential_id()
        session[SESSION_VERSION_KEY] = user.credentials_version


def page_text(response) -> str:
    """The body of ``response`` as text."""
    return response.get_data(as_text=True)


class _FormFields(HTMLParser):
    """Collect form controls, labels and the ``value``/text of each control."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[dict[str, str | None]] = []
        self.label_targets: set[str] = set()
        self.textareas: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("input", "textarea", "select"):
            self.controls.append({"tag": tag, **values})
        if tag == "label" and values.get("for"):
            self.label_targets.add(values["for"] or "")
        if tag == "textarea":
            self._textarea = values.get("name")
            self.textareas[self._textarea or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.textareas[self._textarea] += data


def form_fields(response) -> _FormFields:
    """The form controls of a page."""
    parser = _FormFields()
    parser.feed(page_text(response))
    return parser


def field_value(response, name: str) -> str | None:
    """What the form on the page shows in field ``name`` (input value or textarea text)."""
    fields = form_fields(response)
    if name in fields.textareas:
        return fields.textareas[name].removeprefix("\n")
    for control in fields.controls:
        if control.get("name") == name and control.get("type") not in ("radio", "checkbox"):
            return control.get("value")
    return None


def checked_value(response, name: str) -> str | None:
    """The value of the checked radio button ``name``."""
    for control in form_fields(response).controls:
        if control.get("name") == name and "checked" in control:
            return control.get("value")
    return None


def field_error(response, name: str) -> str | None:
    """The error message shown next to field ``name``, if any."""
    match = re.search(
        rf'<p class="field-error" id="{re.escape(name)}-error">([^<]*)</p>', page_text(response)
    )
    return unescape(match.group(1)) if match else None
