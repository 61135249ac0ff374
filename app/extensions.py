"""Unbound extension objects; ``create_app`` binds them with ``init_app``.

The rate limiter lives beside its key function and limits in :mod:`app.edge.ratelimit`.
"""

from flask_cors import CORS
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

db = SQLAlchemy()
migrate = Migrate()
cors = CORS()
csrf = CSRFProtect()
