"""Reading and writing pages: the home page, posts, comments and author pages."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.conditional import conditional, content_read_at
from app.models import Post, User
from app.schemas import (
    MAX_ID,
    USERNAME_MAX,
    USERNAME_PATTERN,
    CommentCreate,
    PostCreate,
    PostUpdate,
)
from app.services import (
    PreconditionFailed,
    comment_service,
    feed_service,
    lookups,
    post_service,
)
from app.services.pages import Page as ServicePage
from app.web import bp
from app.web.forms import FieldErrors, FormError, form_values, validate_form
from app.web.pagination import Page, check_page_exists, page_window, parse_page
from app.web.session import login_required, signed_in_user

POSTS_PER_PAGE = 10
COMMENTS_PER_PAGE = 20
DRAFTS_SHOWN = 20
POST_FIELDS = ("title", "body", "status")
EDITED_ELSEWHERE = (
    "This post was changed by someone else after you opened it. Your text is kept below; "
    "open the post in another tab to compare, or save again to replace their changes."
)
POST_ID = f"<int(max={MAX_ID}):post_id>"
BAD_VERSION = (
    "This form does not say which version of the post it edits. Reload the post and edit again."
)


def html_page(result: ServicePage, number: int, per_page: int) -> Page:
    """A service page as a numbered HTML page; a page past the end is a 404."""
    check_page_exists(number, result.total, per_page)
    return Page(items=result.items, number=number, per_page=per_page, total=result.total)


@bp.get("/")
@conditional
def home() -> str:
    """Published posts, newest first, ``?page=N``."""
    number = parse_page(request.args.get("page"))
    window = page_window(number, POSTS_PER_PAGE)
    result = feed_service.list_published_posts(window.skip, window.limit)
    content_read_at(result.version)
    return render_template("home.html", page=html_page(result, number, POSTS_PER_PAGE))


@bp.get("/u/<username>")
@conditional
def author(username: str) -> str:
    """An author's published posts, newest first; the author also sees their drafts."""
    if len(username) > USERNAME_MAX or not re.fullmatch(USERNAME_PATTERN, username):
        abort(404)  # no account can have this name
    number = parse_page(request.args.get("page"))
    window = page_window(number, POSTS_PER_PAGE)
    user, result = feed_service.author_with_posts(username, window.skip, window.limit)
    content_read_at(result.version)
    viewer = signed_in_user()
    drafts = []
    if viewer is not None and viewer.id == user.id and number == 1:
        drafts = lookups.list_drafts(user, 0, DRAFTS_SHOWN).items
    return render_template(
        "author.html",
        author=user,
        page=html_page(result, number, POSTS_PER_PAGE),
        drafts=drafts,
    )


def _render_post(
    post_id: int, form: dict[str, str] | None = None, errors: FieldErrors | None = None
) -> str:
    """The post page with a page of comments and the comment form."""
    viewer = signed_in_user()
    number = parse_page(request.args.get("page"))
    window = page_window(number, COMMENTS_PER_PAGE)
    post, result = comment_service.post_with_comments(post_id, window.skip, window.limit, viewer)
    content_read_at(result.version)
    return render_template(
        "posts/show.html",
        post=post,
        comments=html_page(result, number, COMMENTS_PER_PAGE),
        can_edit=post_service.can_edit(post, viewer),
        form=form or {},
        errors=errors or {},
    )


@bp.get(f"/posts/{POST_ID}")
@conditional
def show_post(post_id: int) -> str:
    """A post with its rendered body and its comments ``?page=N``."""
    return _render_post(post_id)


@bp.post(f"/posts/{POST_ID}/comments")
@login_required
def add_comment(post_id: int) -> Response | tuple[str, int]:
    """Comment on a post; errors are shown on the post page with the text kept."""
    user = signed_in_user()
    post = post_service.get_post(post_id, user)
    values = form_values(("body",))
    try:
        comment = validate_form(CommentCreate, values)
    except FormError as invalid:
        return _render_post(post.id, values, invalid.errors), 422
    created = comment_service.add_comment(post.id, user, comment.body)
    total = comment_service.list_post_comments(post.id, 0, 1, user).total
    last_page = max(1, -(-total // COMMENTS_PER_PAGE))
    flash("Your comment is posted.", "success")
    page = last_page if last_page > 1 else None
    return redirect(url_for("web.show_post", post_id=post.id, page=page) + f"#comment-{created.id}")


def _render_form(
    post: Post | None, form: dict[str, str], errors: FieldErrors, status: int = 200
) -> tuple[str, int]:
    """The new/edit form with what the user typed and the errors next to each field."""
    return render_template("posts/form.html", post=post, form=form, errors=errors), status


@bp.route("/posts/new", methods=["GET", "POST"])
@login_required
def new_post() -> Response | tuple[str, int]:
    """Write a new post, as a draft or published."""
    if request.method == "GET":
        return _render_form(None, {"status": "draft"}, {})
    values = form_values(POST_FIELDS)
    try:
        fields = validate_form(PostCreate, values)
    except FormError as invalid:
        return _render_form(None, values, invalid.errors, 422)
    post = post_service.create_post(signed_in_user(), fields.title, fields.body, fields.status)
    flash("Post published." if post.is_published else "Draft saved.", "success")
    return redirect(url_for("web.show_post", post_id=post.id))


def _editable_post(post_id: int) -> tuple[Post, User]:
    """The post and the signed-in user, who must be its author or an admin (else 403)."""
    user = signed_in_user()
    post = post_service.get_post(post_id, user)
    if not post_service.can_edit(post, user):
        abort(403, "Only the author or an admin may change this post")
    return post, user


def _expected_version(raw: str | None) -> int:
    """The version the edit form was opened at; a form error when absent or malformed."""
    if raw is None or not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_ID))):
        raise FormError({"form": [BAD_VERSION]})
    version = int(raw)
    if not 1 <= version <= MAX_ID:
        raise FormError({"form": [BAD_VERSION]})
    return version


@bp.route(f"/posts/{POST_ID}/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int) -> Response | tuple[str, int]:
    """Change a post's title, body or visibility (its author or an admin)."""
    post, user = _editable_post(post_id)
    if request.method == "GET":
        form = {"title": post.title, "body": post.body, "status": post.status.value}
        return _render_form(post, form, {})
    values = form_values(POST_FIELDS)
    kept = {**values, "version": request.form.get("version", "")}
    try:
        fields = validate_form(PostUpdate, values)
        expected_version = _expected_version(request.form.get("version"))
        post = post_service.update_post(
            post.id, user, expected_version=expected_version, **fields.changes()
        )
    except FormError as invalid:
        return _render_form(post, kept, invalid.errors, 422)
    except PreconditionFailed:
        current = post_service.get_post(post.id, user)
        kept["version"] = str(current.version)
        return _render_form(current, kept, {"form": [EDITED_ELSEWHERE]}, 409)
    flash("Changes saved.", "success")
    return redirect(url_for("web.show_post", post_id=post.id))


@bp.route(f"/posts/{POST_ID}/delete", methods=["GET", "POST"])
@login_required
def delete_post(post_id: int) -> Response | str:
    """Ask for confirmation (GET), then soft-delete the post (POST)."""
    post, user = _editable_post(post_id)
    if request.method == "GET":
        return render_template("posts/delete.html", post=post)
    post_service.delete_post(post.id, user)
    flash(f"“{post.title}” was deleted.", "success")
    return redirect(url_for("web.home"))
