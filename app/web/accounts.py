"""Session sign-in pages: register, log in, log out and change the password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.edge.ratelimit import auth_rate_limited, check_account_sign_ins, record_failed_sign_in
from app.metrics import count_failed_sign_in
from app.schemas import PasswordChange, TokenRequest, UserCreate
from app.services import Conflict, user_service
from app.services.errors import WrongPassword
from app.web import bp
from app.web.forms import FieldErrors, FormError, form_values, validate_form
from app.web.session import login_required, safe_next, sign_in, sign_out, signed_in_user

LOGIN_FAILED = "Unknown username or email, or wrong password"
PASSWORDS_DIFFER = "The two passwords are not the same"
WRONG_PASSWORD = "This is not your current password"
PASSWORD_CHANGED = "Your password is changed. Every other session and token is signed out."


def _next_target() -> str:
    """Where to go after signing in: the ``next`` field or argument, if it is safe."""
    return safe_next(request.values.get("next"))


def _render(template: str, form: dict[str, str], errors: FieldErrors, status: int = 200):
    """A sign-in form with what the user typed (never the password) and the errors."""
    return render_template(template, form=form, errors=errors, next=_next_target()), status


@bp.route("/login", methods=["GET", "POST"])
@auth_rate_limited
def login() -> Response | tuple[str, int]:
    """Sign in with a username or email and a password."""
    if request.method == "GET":
        if signed_in_user() is not None:
            return redirect(_next_target())
        return _render("account/login.html", {}, {})
    values = form_values(("username", "password"))
    kept = {"username": values.get("username", "")}
    try:
        credentials = validate_form(TokenRequest, values)
    except FormError as invalid:
        return _render("account/login.html", kept, invalid.errors, 422)
    account = user_service.sign_in_account(credentials.username)
    check_account_sign_ins(account)
    user = user_service.authenticate(credentials.username, credentials.password)
    if user is None:
        record_failed_sign_in(account)
        count_failed_sign_in()
        return _render("account/login.html", kept, {"form": [LOGIN_FAILED]}, 422)
    sign_in(user)
    flash(f"Signed in as {user.username}.", "success")
    return redirect(_next_target())


@bp.route("/register", methods=["GET", "POST"])
@auth_rate_limited
def register() -> Response | tuple[str, int]:
    """Create an account and sign in with it."""
    if request.method == "GET":
        if signed_in_user() is not None:
            return redirect(_next_target())
        return _render("account/register.html", {}, {})
    values = form_values(("username", "email", "password"))
    kept = {key: value for key, value in values.items() if key != "password"}
    try:
        account = validate_form(UserCreate, values)
        if values.get("password") != request.form.get("password_confirm"):
            raise FormError({"password_confirm": [PASSWORDS_DIFFER]})
        user = user_service.register_user(account.username, account.email, account.password)
    except FormError as invalid:
        return _render("account/register.html", kept, invalid.errors, 422)
    except Conflict as conflict:
        field = conflict.field or "form"
        return _render("account/register.html", kept, {field: [conflict.description]}, 409)
    sign_in(user)
    flash(f"Welcome, {user.username}! Your account is ready.", "success")
    return redirect(_next_target())


@bp.post("/logout")
def logout() -> Response:
    """End the session, on the server too (a copy of the cookie no longer signs in)."""
    sign_out()
    flash("You are signed out.", "success")
    return redirect(safe_next(None))


@bp.route("/account/password", methods=["GET", "POST"])
@auth_rate_limited
@login_required
def change_password() -> Response | tuple[str, int]:
    """Change the password; every other session and token ends, this session continues."""
    if request.method == "GET":
        return render_template("account/password.html", errors={}), 200
    user = signed_in_user()
    values = form_values(("current_password", "new_password"))
    try:
        change = validate_form(PasswordChange, values)
        if values.get("new_password") != request.form.get("new_password_confirm"):
            raise FormError({"new_password_confirm": [PASSWORDS_DIFFER]})
    except FormError as invalid:
        return render_template("account/password.html", errors=invalid.errors), 422
    account = user_service.sign_in_account(user.username)
    check_account_sign_ins(account)
    try:
        user = user_service.change_password(user.id, change.current_password, change.new_password)
    except WrongPassword:
        record_failed_sign_in(account)
        count_failed_sign_in()
        errors = {"current_password": [WRONG_PASSWORD]}
        return render_template("account/password.html", errors=errors), 422
    sign_in(user)  # this session continues, at the new credentials version
    flash(PASSWORD_CHANGED, "success")
    return redirect(url_for("web.author", username=user.username))
