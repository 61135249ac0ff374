"""The HTML blueprint: server-rendered pages."""

from flask import Blueprint, render_template

bp = Blueprint("web", __name__)


@bp.get("/")
def home():
    """The home page."""
    return render_template("home.html")
