"""JSON error responses: no HTML error page ever reaches a client.

Every error has one shape, `ErrorBody`; a request that fails validation adds
the bad fields (`ValidationErrorBody`) and a failed readiness probe its checks.
A part of the request that cannot be read at all (a body that is not JSON,
a header sent twice) is a failed validation of that part (`"field": "body"`):
every 400 has the `ValidationErrorBody` shape that operations document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from quart import Quart
from quart.typing import ResponseReturnValue
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import BadRequest, HTTPException


class ErrorBody(BaseModel):
    """An error: its HTTP status, reason phrase and what went wrong."""

    error: str
    status: int
    message: str | None


class FieldError(BaseModel):
    """One field of the request that failed validation."""

    field: str
    message: str


class ValidationErrorBody(ErrorBody):
    """The request failed validation: each bad field, and why."""

    fields: list[FieldError]


class MalformedBody(BadRequest):
    """A request body that cannot be read as JSON; `reason` says where or why."""

    def __init__(self, reason: str) -> None:
        super().__init__("the body is not valid JSON")
        self.fields = [{"field": "body", "message": reason}]


def error_body(status: int, error: str, message: str | None) -> dict[str, Any]:
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
    body = error_body(status, error.name, error.description)
    fields = getattr(error, "fields", None)  # the parts of the request at fault
    if fields is not None:
        body["fields"] = fields
    return body, status, headers


async def validation_error(error: RequestSchemaValidationError) -> ResponseReturnValue:
    """A body, query string or headers that fail their model: 400, naming
    each bad field (a dotted path: `tags.0`; `body` for the whole)."""
    body = error_body(400, "Bad Request", "the request failed validation")
    cause = error.validation_error
    if isinstance(cause, ValidationError):
        body["fields"] = [
            {
                "field": ".".join(str(part) for part in problem["loc"]) or "body",
                "message": problem["msg"],
            }
            for problem in cause.errors(include_url=False)
        ]
    else:  # not a mapping at all, say: the whole body is wrong
        body["fields"] = [{"field": "body", "message": str(cause)}]
    return body, 400


def register_error_handlers(app: Quart) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(RequestSchemaValidationError, validation_error)
