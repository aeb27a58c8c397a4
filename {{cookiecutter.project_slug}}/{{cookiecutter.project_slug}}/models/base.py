"""The declarative base every model derives from, and the column types
they share."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Postgres counts ids in 32 bits (Integer): routes and schemas bound them,
# so that an id too large is a 404 or a 400, not a database error.
ID_MAX = 2**31 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back with its timezone.

    SQLite keeps no timezone (a `DateTime(timezone=True)` comes back naive)
    and PostgreSQL hands back the session's: this type always returns UTC, so
    a response carries an RFC 3339 offset on every database. A naive value is
    refused: it names no point in time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"{value!r} is not a datetime with a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        found: datetime = value
        if found.tzinfo is None:  # SQLite: stored in UTC above
            return found.replace(tzinfo=UTC)
        return found.astimezone(UTC)


def utc_now() -> datetime:
    """The current time in UTC: the default of a creation timestamp."""
    return datetime.now(UTC)


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
