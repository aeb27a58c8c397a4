"""JSON error responses: no HTML error page ever reaches a client."""

from __future__ import annotations

from quart import Quart
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


def error_body(status: int, error: str, message: str | None) -> dict[str, object]:
    """The one shape of every error the service answers."""
    return {"error": error, "status": status, "message": message}


async def http_error(error: HTTPException) -> ResponseReturnValue:
    """Render an HTTP error as JSON, keeping its headers (405's Allow, say).

    Quart hands every HTTP error here (400 for a malformed JSON body, 404, 405,
    413 ...), and also the 500 that wraps an unhandled exception, after it has
    logged the traceback: the client sees only the generic description.
    """
    status = error.code or 500
    headers = [
        (name, value)
        for name, value in error.get_headers()
        if name.lower() != "content-type"
    ]
    return error_body(status, error.name, error.description), status, headers


def register_error_handlers(app: Quart) -> None:
    app.register_error_handler(HTTPException, http_error)
