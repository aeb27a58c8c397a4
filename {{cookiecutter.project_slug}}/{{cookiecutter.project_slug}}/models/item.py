"""The example resource's table. Remove it as README.md says."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

NAME_LENGTH = 100
DESCRIPTION_LENGTH = 1000


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH), default="")
    quantity: Mapped[int] = mapped_column(default=0)
