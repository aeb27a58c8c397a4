"""The declarative base every model derives from."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Postgres counts ids in 32 bits (Integer): routes and schemas bound them,
# so that an id too large is a 404 or a 400, not a database error.
ID_MAX = 2**31 - 1


class Base(DeclarativeBase):
    # Named constraints, so that migrations can drop and alter them by name
    # (and SQLite's batch migrations can rebuild tables).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
