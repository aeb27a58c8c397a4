"""Quart's request class, with every malformed JSON body a 400, and a body
that is not declared as JSON a 415.

Quart turns a body that does not parse as JSON into a 400, but not a body
that is not UTF-8 (the text is decoded before parsing) or one nested deeper
than Python's recursion limit: both would be a 500. Here they are 400s too,
whichever way a view reads the body (`await request.get_json()`,
`await request.json`). A body sent without a JSON Content-Type reads as None
in Quart, which a view would take for a missing body: here it is a 415, as
Flask answers it (unless the view asks with `force` or `silent`).
"""

from __future__ import annotations

from typing import Any

from quart import Request
from werkzeug.exceptions import UnsupportedMediaType


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
            return self.on_json_loading_failed(error)
