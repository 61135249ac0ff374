"""Unbound extension objects; ``create_app`` binds them with ``init_app``.

The rate limiter lives beside its key function and limits in :mod:`app.edge.ratelimit`.
"""

from flask_cors import CORS
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

#: Objects keep what they held after a commit: a write answers with what it just wrote,
#: without reading it back (writes that change rows behind the ORM's back refresh them).
db = SQLAlchemy(session_options={"expire_on_commit": False})
migrate = Migrate()
cors = CORS()
csrf = CSRFProtect()
