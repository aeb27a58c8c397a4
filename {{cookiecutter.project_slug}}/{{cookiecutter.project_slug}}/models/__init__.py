"""The database models: SQLAlchemy 2 typed mappings, one module per resource.

Alembic compares `Base.metadata` with the database (`make migration`), so
import every model module here.
"""

from .base import Base
from .item import Item

__all__ = ["Base", "Item"]
