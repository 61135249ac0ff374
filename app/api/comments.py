"""Comments on posts."""

from __future__ import annotations

from flask import Response, request, url_for

from app.api import bp
from app.conditional import conditional, content_read_at, unchanged_record
from app.helpers import json_body, list_response, success_response, versioned_response
from app.identity import current_user, require_user
from app.openapi import api_operation
from app.schemas import CommentCreate, CommentResponse, Pagination, validate
from app.services import comment_service
from app.services.concurrency import versions_from_if_match


def comment_response(comment, message: str = "OK", status: int = 200, **headers: str) -> Response:
    """One comment in the success envelope, with its ETag."""
    return versioned_response(CommentResponse, comment, message, status, **headers)


@bp.get("/posts/<id:post_id>/comments")
@api_operation(
    "A post's comments, oldest first",
    tag="comments",
    response=CommentResponse,
    many=True,
    query=Pagination,
    auth="optional",
)
@conditional
def list_comments(post_id: int) -> Response:
    """One page of a visible post's comments."""
    page_args = Pagination.from_args(request.args)
    page = comment_service.list_post_comments(
        post_id, page_args.skip, page_args.limit, current_user()
    )
    content_read_at(page.version)
    items = [CommentResponse.model_validate(comment).to_json() for comment in page.items]
    return list_response(items, page.skip, page.limit, page.total)


@bp.post("/posts/<id:post_id>/comments")
@api_operation(
    "Comment on a post",
    tag="comments",
    body=CommentCreate,
    response=CommentResponse,
    status=201,
    auth="user",
    etag=True,
)
@require_user
def create_comment(post_id: int) -> Response:
    """Add the current user's comment to a post they can see."""
    payload = validate(CommentCreate, json_body())
    comment = comment_service.add_comment(post_id, current_user(), payload.body)
    return comment_response(
        comment,
        "Comment created",
        201,
        Location=url_for("api.get_comment", comment_id=comment.id),
    )


@bp.get("/comments/<id:comment_id>")
@api_operation(
    "A comment (on a post the caller can see)",
    tag="comments",
    response=CommentResponse,
    auth="optional",
    etag=True,
)
def get_comment(comment_id: int) -> Response:
    """One visible comment, with the ETag to send when deleting it (304 when unchanged)."""
    viewer = current_user()
    not_modified = unchanged_record(lambda: comment_service.current_tag(comment_id, viewer))
    return not_modified or comment_response(comment_service.get_comment(comment_id, viewer))


@bp.delete("/comments/<id:comment_id>")
@api_operation(
    "Soft-delete a comment (its author, the post's author or an admin)",
    tag="comments",
    auth="user",
    errors=(403, 409),
    if_match=True,
)
@require_user
def delete_comment(comment_id: int) -> Response:
    """Soft-delete a comment, honouring If-Match."""
    comment_service.delete_comment(
        comment_id,
        current_user(),
        expected_version=versions_from_if_match(
            request.headers.get("If-Match"), "comment", comment_id
        ),
    )
    return success_response(None, "Comment deleted")
