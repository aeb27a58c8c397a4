"""The application class."""

from __future__ import annotations

from typing import Any

from quart import Quart, Response

from .wrappers import ServiceRequest


class Service(Quart):
    """Quart, with the request class of wrappers.py and an OPTIONS answer
    that is a 204 with an Allow header, not an empty text/html page."""

    request_class = ServiceRequest

    async def make_default_options_response(self, *args: Any) -> Response:
        # Quart 0.23 passes the request's context, 0.22 nothing: pass it on.
        response = await super().make_default_options_response(*args)
        response.status_code = 204
        # A 204 has no content, so neither type nor length (RFC 9110).
        del response.headers["Content-Type"]
        del response.headers["Content-Length"]
        return response
