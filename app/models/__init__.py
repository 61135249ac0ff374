"""Domain models; importing this package registers every table on the metadata."""

from app.models.base import Base

__all__ = ["Base"]
