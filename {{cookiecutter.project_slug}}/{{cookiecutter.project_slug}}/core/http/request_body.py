"""Quart's request class, with every malformed JSON body a 400 and a body not
declared as JSON a 415.

However a view reads the body, one that is empty, not JSON, not UTF-8 or
nested too deep is a `MalformedBody` (errors.py): a 400 naming the field
`body`, never a 500. Without a JSON Content-Type it is a 415, unless the view
reads it with `force` or `silent`.
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
