"""Unbound extension objects; ``create_app`` binds them with ``init_app``."""

from flask_cors import CORS
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from app.models.base import Base
from app.ratelimit import ApplicationLimiter, rate_limit_key

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
cors = CORS()
csrf = CSRFProtect()
limiter = ApplicationLimiter(key_func=rate_limit_key)
