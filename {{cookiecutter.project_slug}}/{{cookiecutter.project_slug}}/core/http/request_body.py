"""Quart's request class, with every malformed JSON body a 400 that says
what is wrong with it, and a body that is not declared as JSON a 415.

Whichever way a view reads the body (`await request.get_json()`,
`await request.json`, quart-schema's `validate_request`), a body that is
empty, does not parse as JSON, is not UTF-8 or is nested deeper than Python's
recursion limit is a `MalformedBody` (errors.py): a 400 naming the field
`body` and where parsing stopped, never a 500. A body sent without a JSON
Content-Type reads as None in Quart, which a view would take for a missing
body: here it is a 415, as Flask answers it (unless the view asks with
`force` or `silent`).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from quart import Request
from werkzeug.exceptions import UnsupportedMediaType

from .errors import MalformedBody


class ServiceRequest(Request):
    async def get_json(
        self, force: bool = False, silent: bool = False, cache: bool = True
    ) -> Any:
        if not (force or silent or self.is_json):
            raise UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json"
            )
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except (UnicodeDecodeError, RecursionError) as error:
            if silent:
                return None
            self.on_json_loading_failed(error)

    def on_json_loading_failed(self, error: Exception) -> NoReturn:
        raise MalformedBody(malformed_reason(error))


def malformed_reason(error: Exception) -> str:
    """Why a body is not JSON, in words a client can act on."""
    if isinstance(error, json.JSONDecodeError):
        if not error.doc.strip():
            return "the body is empty"
        return f"{error.msg}: line {error.lineno}, column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return "the body is not UTF-8 text"
    if isinstance(error, RecursionError):
        return "the body is nested too deeply"
    return "the body does not parse as JSON"
