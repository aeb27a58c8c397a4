"""The application class."""

from __future__ import annotations

from typing import Any, NoReturn
from urllib.parse import urlsplit

from quart import Quart, Response
from quart.routing import QuartMap
from quart.typing import ResponseTypes
from quart.wrappers import BaseRequestWebsocket
from werkzeug.datastructures import ImmutableDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, RequestRedirect

from .request_body import ServiceRequest


class AsciiIntegerConverter(IntegerConverter):
    """Werkzeug's `int` converter, matching ASCII digits only: its `\\d` also
    matches other scripts' digits, so `/items/%D9%A3` (an Arabic-Indic 3) and
    `/items/%EF%BC%91` (a fullwidth 1) would name item 3 and item 1."""

    regex = r"[0-9]+"


class ServiceMap(QuartMap):
    """Quart's URL map with the `int` converter above, never merging slashes
    (werkzeug before 3.1 reads `merge_slashes` only when the map is made)."""

    default_converters = ImmutableDict(
        {**QuartMap.default_converters, "int": AsciiIntegerConverter}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("merge_slashes", False)
        super().__init__(*args, **kwargs)


class Moved(HTTPException):
    """A 308 to the path where the resource is, which errors.py renders as
    JSON like any HTTP error, keeping its Location header."""

    code = 308

    def __init__(self, location: str) -> None:
        super().__init__(f"the resource is at {location}")
        self.location = location

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("Location", self.location)]


def own_path(url: str) -> str:
    """The path and query of a URL werkzeug made absolute with the request's
    own Host header, which the client chooses: without scheme and host, the
    client resolves it against the URL it asked for. One leading slash, since
    `//host/...` would name another host."""
    parts = urlsplit(url)
    path = "/" + parts.path.lstrip("/")
    return f"{path}?{parts.query}" if parts.query else path


class Service(Quart):
    """Quart, with the request class of request_body.py, route ids (`<int:...>`)
    of ASCII digits only, OPTIONS answered with a 204 and an Allow header (not
    an empty text/html page), and no content headers on a response that has no
    content.

    Routing never answers in HTML or names the Host header a client sent:
    `//` inside a path is a 404 like any other path no route has (no redirect
    to the path with the slashes merged; leading slashes werkzeug reads as
    one), and werkzeug's other redirects (a rule that ends in `/` asked for
    without it, a rule's defaults) are JSON 308s whose Location is a path.
    """

    request_class = ServiceRequest
    url_map_class = ServiceMap

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.after_request(without_content_headers)

    async def make_default_options_response(self, *args: Any) -> Response:
        # Quart 0.23 passes the request's context, 0.22 nothing: pass it on.
        response = await super().make_default_options_response(*args)
        response.status_code = 204
        return response

    def raise_routing_exception(self, request: BaseRequestWebsocket) -> NoReturn:
        error = request.routing_exception
        if isinstance(error, RequestRedirect):
            # Quart would send werkzeug's HTML page, bypassing errors.py.
            raise Moved(own_path(error.new_url)) from None
        super().raise_routing_exception(request)


async def without_content_headers(response: ResponseTypes) -> ResponseTypes:
    """A 204 has no content, so neither type nor length (RFC 9110 8.6, 15.3.5):
    Quart would give `return "", 204` a text/html type."""
    if response.status_code == 204:
        del response.headers["Content-Type"]
        del response.headers["Content-Length"]
    return response
