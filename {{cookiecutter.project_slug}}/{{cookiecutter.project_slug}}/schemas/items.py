"""The example resource's bodies and query string. Remove it as README.md says."""

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from ..models.base import ID_MAX
from ..models.item import DESCRIPTION_LENGTH, NAME_LENGTH
from .fields import Count, Id, NameText, QueryInt, Storable

# Normalised first, so that the length counts what is stored.
Name = Annotated[
    str,
    NameText,
    StringConstraints(min_length=1, max_length=NAME_LENGTH),
    Storable,
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_LENGTH), Storable]


class ItemIn(BaseModel):
    """A new item. Its name must be unique."""

    # JSON gives exact types: no "7" for 7, no true for 1, no unknown field.
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    description: Description = ""
    quantity: Count = 0


class ItemUpdate(BaseModel):
    """The fields to change; those left out (or null) stay as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name | None = None
    description: Description | None = None
    quantity: Count | None = None


class ItemOut(BaseModel):
    """An item."""

    model_config = ConfigDict(from_attributes=True)

    id: Id
    name: str
    description: str
    quantity: int
    created_at: AwareDatetime = Field(description="When the item was made (RFC 3339)")


class ItemQuery(BaseModel):
    """One page: up to `limit` items with ids above `after`, by id."""

    limit: Annotated[int, Field(ge=1, le=100), QueryInt] = 20
    after: Annotated[int, Field(ge=0, le=ID_MAX), QueryInt] = 0


class ItemPage(BaseModel):
    """A page of items; `next` is the `after` of the next page, or null."""

    items: list[ItemOut]
    next: int | None
