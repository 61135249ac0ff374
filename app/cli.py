"""Command-line commands (``flask --app wsgi ...``).

Writes made here are stamped and audited as the system actor
(:data:`app.models.SYSTEM_ACTOR_ID`, 0): there is no signed-in user. Every command
answers a bad argument with one line and a non-zero exit.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{3,32}")
PASSWORD_LENGTH = (8, 128)
MAX_SEED_POSTS = 1_000_000


class CommandFailed(click.ClickException):
    """A one-line error and exit status 1 (2 for bad arguments)."""


class BadArguments(CommandFailed):
    """Arguments that cannot be used: one line, exit status 2."""

    exit_code = 2


class OneLineErrors(click.Command):
    """Report bad arguments in one line, without click's usage block."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse as usual; turn a usage error into a one-line error."""
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise BadArguments(error.format_message()) from None

    def invoke(self, ctx: click.Context):
        """Run the command; a database that cannot be reached is one line, not a traceback."""
        try:
            return super().invoke(ctx)
        except OperationalError:
            raise CommandFailed("the database cannot be reached") from None


class OneLineErrorsGroup(click.Group):
    """A command group whose usage errors are one line too."""

    command_class = OneLineErrors

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse as usual; turn a usage error into a one-line error."""
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise BadArguments(error.format_message()) from None

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """Find the subcommand; an unknown one is a one-line error."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            raise BadArguments(error.format_message()) from None


def _check_username(username: str) -> str:
    """The username, or a one-line error naming --username."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise BadArguments("--username must be 3-32 characters of A-Z, a-z, 0-9, _ and -")
    return username


def _check_email(email: str) -> str:
    """The normalised email address, or a one-line error naming --email."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise BadArguments(f"--email is not a valid address: {error}") from None


def _check_password(password: str) -> str:
    """The password, or a one-line error naming --password."""
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise BadArguments(f"--password must be {low}-{high} characters long")
    return password


@click.command("create-admin", cls=OneLineErrors)
@click.option("--username", required=True, help="Username of the admin (3-32 of A-Za-z0-9_-)")
@click.option("--email", required=True, help="Email address of the admin")
@click.option("--password", help="Password (8-128 characters); prompted for when omitted")
@with_appcontext
def create_admin_command(username: str, email: str, password: str | None) -> None:
    """Create an admin, or promote the existing user with that username."""
    from app.services import user_service

    username, email = _check_username(username), _check_email(email)
    if password is not None:
        _check_password(password)
    exists = user_service.find_user_by_username(username) is not None
    if password is None and not exists:
        password = _check_password(
            click.prompt("Password", hide_input=True, confirmation_prompt=True)
        )
    try:
        user, created = user_service.create_admin(username, email, password)
    except HTTPException as error:
        raise CommandFailed(error.description or "could not create the admin") from None
    if created:
        click.echo(f"Created admin {user.username} (id {user.id})")
    else:
        click.echo(f"Promoted {user.username} (id {user.id}) to admin")


@click.command("seed", cls=OneLineErrors)
@click.option(
    "--posts",
    type=click.IntRange(0, MAX_SEED_POSTS),
    default=100,
    show_default=True,
    help="How many posts to create",
)
@click.option(
    "--users", type=click.IntRange(1, 1000), default=10, show_default=True, help="Demo users"
)
@click.option(
    "--comments-per-post",
    type=click.IntRange(0, 50),
    default=1,
    show_default=True,
    help="Average comments on each published post",
)
@click.option("--seed", "random_seed", type=int, help="Random seed, for repeatable content")
@with_appcontext
def seed_command(posts: int, users: int, comments_per_post: int, random_seed: int | None) -> None:
    """Fill the database with demo users, posts and comments (bulk inserts, audited)."""
    from app.extensions import db
    from app.seed import DEMO_PASSWORD, seed_demo_data

    report = seed_demo_data(
        db.session,
        posts=posts,
        users=users,
        comments_per_post=comments_per_post,
        seed=random_seed,
        progress=lambda message: click.echo(message, err=True),
    )
    click.echo(
        f"Seeded {report.users} users, {report.posts} posts and {report.comments} comments"
        f" in {report.seconds:.1f}s"
    )
    click.echo(
        f"Demo users {report.usernames[0]} ... {report.usernames[-1]}, password {DEMO_PASSWORD!r}"
    )


@click.group("audit", cls=OneLineErrorsGroup)
def audit_group() -> None:
    """The audit trail."""


def _anchor_file() -> Path:
    """The anchor file of the current app (AUDIT_ANCHOR_FILE)."""
    return Path(current_app.extensions["inkwell.settings"].audit_anchor_file)


@audit_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Check the hash chain, its ids and every anchor; exit 1 naming the first failure."""
    from app.audit import AnchorFileError, read_anchors, verify_chain
    from app.extensions import db

    path = _anchor_file()
    try:
        anchors = read_anchors(path)
    except AnchorFileError as error:
        raise CommandFailed(str(error)) from None
    with db.engine.connect() as connection:
        report = verify_chain(connection, anchors)
    if report.broken_event_id is not None:
        click.echo(
            f"Audit trail broken at event {report.broken_event_id}: {report.reason}"
            f" ({report.checked} events before it are intact)",
            err=True,
        )
        sys.exit(1)
    if report.failed_anchor is not None:
        anchor = report.failed_anchor
        click.echo(
            f"Audit trail no longer matches the anchor on line {anchor.line} of {path}"
            f" (taken {anchor.anchored_at}): {report.reason}",
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"Audit trail intact: {report.checked} events verified,"
        f" {report.anchors_checked} anchors hold"
    )


@audit_group.command("anchor")
@with_appcontext
def anchor_command() -> None:
    """Append the chain's head to AUDIT_ANCHOR_FILE (safe to run concurrently, e.g. cron)."""
    from app.audit import anchor_head
    from app.extensions import db

    path = _anchor_file()
    try:
        with db.engine.connect() as connection:
            anchor = anchor_head(connection, path)
    except OSError as error:
        raise CommandFailed(f"cannot write {path}: {error.strerror}") from None
    click.echo(f"Anchored event {anchor.event_id} ({anchor.hash}) in {path}")


@click.group("posts", cls=OneLineErrorsGroup)
def posts_group() -> None:
    """Posts and comments."""


@posts_group.command("rerender")
@click.option(
    "--all", "everything", is_flag=True, help="Every row, not only those of another renderer"
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Rows per transaction",
)
@with_appcontext
def rerender_command(everything: bool, batch_size: int) -> None:
    """Render stored HTML and excerpts again where another renderer version made them."""
    from app.services import rendering_service

    report = rendering_service.rerender(everything=everything, batch_size=batch_size)
    click.echo(
        f"Rendered {report.posts} posts and {report.comments} comments again"
        f" with {report.rendered_with}"
    )


@click.group("users", cls=OneLineErrorsGroup)
def users_group() -> None:
    """Accounts, for operators without a browser (acting as the system)."""


def _change_user(username: str, action: str) -> None:
    """Apply ``action`` to the user called ``username``; one line on success or failure."""
    from app.services import user_admin_service, user_service

    _check_username_argument(username)
    user = user_service.find_user_by_username(username, include_deleted=True)
    if user is None:
        raise CommandFailed(f"no user is called {username}")
    try:
        if action == "delete":
            user_admin_service.delete_user(user.id, None)
        elif action == "restore":
            user_admin_service.restore_user(user.id, None)
        else:
            user_admin_service.update_user(user.id, None, is_active=action == "activate")
    except HTTPException as error:
        raise CommandFailed(error.description or f"could not {action} {username}") from None
    click.echo(USER_ACTION_DONE[action].format(name=user.username, id=user.id))


USER_ACTION_DONE = {
    "activate": "Activated {name} (id {id})",
    "deactivate": "Deactivated {name} (id {id}); every session and token is signed out",
    "delete": "Deleted {name} (id {id}); every session and token is signed out",
    "restore": "Restored {name} (id {id})",
}


def _check_username_argument(username: str) -> str:
    """The USERNAME argument, or a one-line error."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise BadArguments("USERNAME must be 3-32 characters of A-Z, a-z, 0-9, _ and -")
    return username


def _user_command(action: str, summary: str) -> None:
    """Register ``flask users <action> USERNAME``."""

    @users_group.command(action, help=summary)
    @click.argument("username")
    @with_appcontext
    def command(username: str) -> None:
        _change_user(username, action)


_user_command("deactivate", "Deactivate a user and sign them out everywhere.")
_user_command("activate", "Let a deactivated user sign in again.")
_user_command("delete", "Soft-delete a user and sign them out everywhere (content stays).")
_user_command("restore", "Undo a user's soft delete.")


def register_commands(app: Flask) -> None:
    """Attach Inkwell's commands to ``app.cli``."""
    app.cli.add_command(create_admin_command)
    app.cli.add_command(users_group)
    app.cli.add_command(seed_command)
    app.cli.add_command(audit_group)
    app.cli.add_command(posts_group)
