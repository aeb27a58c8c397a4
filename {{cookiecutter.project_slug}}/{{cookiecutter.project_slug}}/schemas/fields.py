"""Field types for what the service stores.

Text that PostgreSQL cannot store (a NUL character) and numbers beyond a
32-bit column fail validation here, as a 400 naming the field, instead of
failing in the database as a 500. (pydantic refuses lone surrogates itself.)
"""

from typing import Annotated

from pydantic import AfterValidator, Field

from ..models.base import ID_MAX


def storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


# Add it after a string's other constraints: Annotated[str, ..., Storable].
Storable = AfterValidator(storable)
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Count = Annotated[int, Field(ge=0, le=ID_MAX)]
