"""The HTML blueprint: server-rendered pages for readers, authors and admins."""

from flask import Blueprint, Response
from flask_wtf.csrf import CSRFError

from app.errors import render_error
from app.web.templating import register_template_helpers

CSRF_FAILED = (
    "This form has expired or was not sent from this site. Go back, reload the page and try again."
)

bp = Blueprint("web", __name__)
register_template_helpers(bp)


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> Response:
    """A form without a valid CSRF token: a 400 page that says what to do."""
    return render_error(400, CSRF_FAILED)


from app.web import accounts, admin, ops, posts  # noqa: E402, F401 - registers the views
