"""The root endpoint."""

from quart import Blueprint
from quart_schema import validate_response

from ..schemas.home import Home

home = Blueprint("home", __name__)


@home.get("/")
@validate_response(Home)
async def index() -> Home:
    """An empty JSON object, as in the book's skeleton."""
    return Home()
