"""Browser sign-in: the session cookie, the signed-in user and who may open a page.

A page session carries the user id, its own random id and the user's credentials
version. Signing out revokes that id on the server, so a copy of the old cookie signs
nobody in; a bumped credentials version ends every session of the user at once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface

from app.auth import SESSION_ID_KEY, SESSION_USER_KEY, SESSION_VERSION_KEY, new_credential_id
from app.edge.identity import forget_credentials, resolve_credentials
from app.identity import verified_user
from app.models import utcnow
from app.services import user_service

if TYPE_CHECKING:
    from app.models import User

P = ParamSpec("P")
R = TypeVar("R")


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked ``Secure`` whenever it is served over HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        """Secure when configured so, and on every HTTPS request."""
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def signed_in_user() -> User | None:
    """The signed-in user of this page request, if any (loaded once per request).

    A session that was revoked, or whose account was deleted or deactivated since it
    signed in, is emptied.
    """
    state = resolve_credentials()
    if state.credentials != "session":
        return None
    user = verified_user()
    if user is None:
        for key in (SESSION_USER_KEY, SESSION_ID_KEY, SESSION_VERSION_KEY):
            session.pop(key, None)
    return user


def sign_in(user: User) -> None:
    """Start a fresh session for ``user`` (a new cookie and id, so no fixation)."""
    session.clear()
    session[SESSION_USER_KEY] = user.id
    session[SESSION_ID_KEY] = new_credential_id()
    session[SESSION_VERSION_KEY] = user.credentials_version
    forget_credentials()


def sign_out() -> None:
    """End the session, on the server too: its id is revoked, so a copied cookie fails."""
    state = resolve_credentials()
    user = signed_in_user()  # a session that no longer holds needs no revoking
    if user is not None and state.credential_id is not None:
        # Flask refuses a session cookie older than PERMANENT_SESSION_LIFETIME, so the
        # revocation is needed only that long.
        expires_at = utcnow() + current_app.permanent_session_lifetime
        user_service.revoke_credential(state.credential_id, user.id, expires_at)
    session.clear()
    forget_credentials()


def is_safe_next(target: str | None) -> bool:
    """Whether ``target`` is a path on this site, so redirecting there cannot leave it."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ord(char) < 32 or char == "\\" for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str | None = None) -> str:
    """``target`` when it is a safe local path, else ``default`` (the home page)."""
    return target if is_safe_next(target) else (default or url_for("web.home"))


def here() -> str:
    """Where the user is now: this page for a GET, else the page that sent the form."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and is_safe_next(referrer.path or None):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("web.home")


def login_redirect():
    """Send an anonymous visitor to the login page, remembering where they were."""
    return redirect(url_for("web.login", next=here()))


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Pages for signed-in users: anonymous visitors go to the login page."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if signed_in_user() is None:
            return login_redirect()  # type: ignore[return-value]
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[P, R]) -> Callable[P, R]:
    """Admin pages: anonymous visitors go to the login page, other users get a 403."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        user = signed_in_user()
        if user is None:
            return login_redirect()  # type: ignore[return-value]
        if not user.is_admin:
            abort(403, "This page is for administrators")
        return view(*args, **kwargs)

    return wrapped
