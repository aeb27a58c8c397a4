"""The application class."""

from __future__ import annotations

from typing import Any

from quart import Quart, Response
from quart.typing import ResponseTypes
from werkzeug.routing import IntegerConverter

from .wrappers import ServiceRequest


class AsciiIntegerConverter(IntegerConverter):
    """Werkzeug's `int` converter, matching ASCII digits only: its `\\d` also
    matches other scripts' digits, so `/items/%D9%A3` (an Arabic-Indic 3) and
    `/items/%EF%BC%91` (a fullwidth 1) would name item 3 and item 1."""

    regex = r"[0-9]+"


class Service(Quart):
    """Quart, with the request class of wrappers.py, route ids (`<int:...>`)
    of ASCII digits only, OPTIONS answered with a 204 and an Allow header (not
    an empty text/html page), and no content headers on a response that has no
    content."""

    request_class = ServiceRequest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url_map.converters["int"] = AsciiIntegerConverter
        self.after_request(without_content_headers)

    async def make_default_options_response(self, *args: Any) -> Response:
        # Quart 0.23 passes the request's context, 0.22 nothing: pass it on.
        response = await super().make_default_options_response(*args)
        response.status_code = 204
        return response


async def without_content_headers(response: ResponseTypes) -> ResponseTypes:
    """A 204 has no content, so neither type nor length (RFC 9110 8.6, 15.3.5):
    Quart would give `return "", 204` a text/html type."""
    if response.status_code == 204:
        del response.headers["Content-Type"]
        del response.headers["Content-Length"]
    return response
