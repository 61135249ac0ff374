"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""

import atexit

from app import create_app
from app.lifecycle import shutdown

app = create_app()
atexit.register(shutdown, app)
