"""Posts: the public feed, drafts, edits, soft deletes, restores and history."""

from __future__ import annotations

from flask import Response, request, url_for

from app.api import bp
from app.conditional import conditional, content_read_at, unchanged_record
from app.helpers import json_body, list_response, success_response, versioned_response
from app.identity import current_user, require_role, require_user, unauthorized
from app.openapi import api_operation
from app.schemas import (
    POST_LIST,
    AuditEventResponse,
    Pagination,
    PostCreate,
    PostListQuery,
    PostResponse,
    PostUpdate,
    RecordQuery,
    validate,
)
from app.services import feed_service, post_service
from app.services.concurrency import versions_from_if_match


def post_response(post, message: str = "OK", status: int = 200, **headers: str) -> Response:
    """One post in the success envelope, with its ETag."""
    return versioned_response(PostResponse, post, message, status, **headers)


@bp.get("/posts")
@api_operation(
    "Published posts, newest first",
    tag="posts",
    response=PostResponse,
    many=True,
    query=PostListQuery,
    description="Ordered by publication time, then id, newest first.",
)
@conditional
def list_posts() -> Response:
    """One page of the published posts, optionally of one author."""
    query = PostListQuery.from_args(request.args)
    page = feed_service.feed_page(query.skip, query.limit, query.author)
    content_read_at(page.version)
    items = POST_LIST.dump_python(POST_LIST.validate_python(page.items), mode="json")
    return list_response(items, page.skip, page.limit, page.total)


@bp.post("/posts")
@api_operation(
    "Write a post (a draft unless status is 'published')",
    tag="posts",
    body=PostCreate,
    response=PostResponse,
    status=201,
    auth="user",
    etag=True,
)
@require_user
def create_post() -> Response:
    """Create a post by the current user."""
    payload = validate(PostCreate, json_body())
    post = post_service.create_post(current_user(), payload.title, payload.body, payload.status)
    return post_response(
        post, "Post created", 201, Location=url_for("api.get_post", post_id=post.id)
    )


@bp.get("/posts/<id:post_id>")
@api_operation(
    "A post: published ones for everyone, drafts for their author and admins",
    tag="posts",
    response=PostResponse,
    auth="optional",
    query=RecordQuery,
    errors=(403,),
    etag=True,
    description="Admins may ask for a soft-deleted post with `include_deleted=true`.",
)
def get_post(post_id: int) -> Response:
    """One visible post (304 when unchanged); admins may ask for a soft-deleted one."""
    query = RecordQuery.from_args(request.args)
    viewer = current_user()
    if not query.include_deleted:
        not_modified = unchanged_record(lambda: post_service.current_tag(post_id, viewer))
        return not_modified or post_response(post_service.get_post(post_id, viewer))
    if viewer is None:
        raise unauthorized()
    return post_response(post_service.get_deleted_post(post_id, viewer))


@bp.patch("/posts/<id:post_id>")
@api_operation(
    "Change a post's title, body or status (author or admin)",
    tag="posts",
    body=PostUpdate,
    response=PostResponse,
    auth="user",
    errors=(403, 409),
    etag=True,
    if_match=True,
    description="Only the fields sent change. Publishing sets `published_at`.",
)
@require_user
def update_post(post_id: int) -> Response:
    """Apply a partial update, honouring If-Match."""
    changes = validate(PostUpdate, json_body()).changes()
    post = post_service.update_post(
        post_id,
        current_user(),
        **changes,
        expected_version=versions_from_if_match(request.headers.get("If-Match"), "post", post_id),
    )
    return post_response(post, "Post updated")


@bp.delete("/posts/<id:post_id>")
@api_operation(
    "Soft-delete a post (author or admin)",
    tag="posts",
    auth="user",
    errors=(403, 409),
    if_match=True,
)
@require_user
def delete_post(post_id: int) -> Response:
    """Soft-delete a post, honouring If-Match; admins can restore it."""
    post_service.delete_post(
        post_id,
        current_user(),
        expected_version=versions_from_if_match(request.headers.get("If-Match"), "post", post_id),
    )
    return success_response(None, "Post deleted")


@bp.post("/posts/<id:post_id>/restore")
@api_operation(
    "Undo a post's soft delete (admins)",
    tag="posts",
    response=PostResponse,
    auth="admin",
    errors=(409,),
    etag=True,
)
@require_role("admin")
def restore_post(post_id: int) -> Response:
    """Bring a soft-deleted post back (409 if it is not deleted)."""
    return post_response(post_service.restore_post(post_id, current_user()), "Post restored")


@bp.get("/posts/<id:post_id>/history")
@api_operation(
    "A post's audit events, newest first (author or admin)",
    tag="posts",
    response=AuditEventResponse,
    many=True,
    query=Pagination,
    auth="user",
    errors=(403,),
)
@require_user
def post_history(post_id: int) -> Response:
    """One page of the post's audit trail."""
    page_args = Pagination.from_args(request.args)
    page = post_service.post_history(post_id, current_user(), page_args.skip, page_args.limit)
    items = [AuditEventResponse.model_validate(event).to_json() for event in page.items]
    return list_response(items, page.skip, page.limit, page.total)
