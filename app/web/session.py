"""Browser sign-in: the session cookie, the signed-in user and who may open a page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, g, has_request_context, redirect, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request, Response
from itsdangerous import URLSafeTimedSerializer

from app.auth import SESSION_USER_KEY

if TYPE_CHECKING:
    from app.models import User

P = ParamSpec("P")
R = TypeVar("R")


_SERIALIZER = "inkwell.session_serializer"


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked ``Secure`` whenever it is served over HTTPS.

    Flask builds the cookie's signing serializer anew for every request, cookie or not, and
    works out every cookie attribute before it sees there is nothing to save. Here a request
    without the cookie gets its empty session straight away, a session nobody touched is
    not looked at again, and the serializer is built once per app and secret key.
    """

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, kept on the app until ``SECRET_KEY`` or its fallbacks change."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = app.extensions.get(_SERIALIZER)
        if cached is None or cached[0] != keys:
            cached = app.extensions[_SERIALIZER] = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """An empty session when the request has no cookie; else Flask's signed one."""
        cookies_sent = "HTTP_COOKIE" in request.environ
        if app.secret_key and not (cookies_sent and request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Nothing to do for an empty session nobody read or changed; else Flask's saving."""
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured so, and on every HTTPS request."""
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def install_session_interface(state: BlueprintSetupState) -> None:
    """Use :class:`PageSessionInterface` for the app the pages are registered on."""
    state.app.session_interface = PageSessionInterface()


def load_signed_in_user() -> None:
    """Put the session's user in ``g.session_user`` and its id in ``g.user_id`` (the actor)."""
    from app.services import user_service

    user_id = session.get(SESSION_USER_KEY)
    user = user_service.get_active_user(user_id) if isinstance(user_id, int) else None
    if user is None and SESSION_USER_KEY in session:
        # The account was deleted or deactivated since it signed in.
        session.pop(SESSION_USER_KEY)
    g.session_user = user
    g.user_id = user.id if user is not None else None
    g.claimed_user_id = g.user_id


def signed_in_user() -> User | None:
    """The signed-in user of this page request, if any."""
    if "session_user" not in g:
        load_signed_in_user()
    return g.session_user


def sign_in(user: User) -> None:
    """Start a fresh session for ``user`` (a new cookie, so no fixation)."""
    session.clear()
    session[SESSION_USER_KEY] = user.id
    g.session_user = user
    g.user_id = user.id
    g.claimed_user_id = user.id


def sign_out() -> None:
    """End the session."""
    session.clear()
    g.session_user = None
    g.user_id = None
    g.claimed_user_id = None


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
