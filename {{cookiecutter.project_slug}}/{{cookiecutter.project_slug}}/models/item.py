"""The example resource's table. Remove it as README.md says."""

from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utc_now

NAME_LENGTH = 100
DESCRIPTION_LENGTH = 1000


class Item(Base):
    __tablename__ = "items"
    # An id, once given, never names another item: SQLite would otherwise
    # reuse the highest id after its item is deleted (PostgreSQL's sequence
    # never does).
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH), default="")
    quantity: Mapped[int] = mapped_column(default=0)
    # Set here when the item is made; the database's clock for rows written
    # without the ORM.
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utc_now, server_default=func.now()
    )
