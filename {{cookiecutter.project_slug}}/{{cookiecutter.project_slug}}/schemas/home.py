"""The root endpoint's body."""

from pydantic import BaseModel


class Home(BaseModel):
    """An empty object: the service is here."""
