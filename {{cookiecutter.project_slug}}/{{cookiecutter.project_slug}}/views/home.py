"""The root endpoint."""

from typing import Any

from quart import Blueprint

home = Blueprint("home", __name__)


@home.get("/")
async def index() -> dict[str, Any]:
    """An empty JSON object, as in the book's skeleton."""
    return {}
