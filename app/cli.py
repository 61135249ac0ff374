"""Command-line commands (``flask --app wsgi ...``)."""

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach Inkwell's commands to ``app.cli``."""
