"""Requests refused before they reach the app, as JSON errors in errors.py's
shape, each with `Connection: close`:

- a request target that is not a path: 400;
- an HTTP version other than 1.0 and 1.1 (HTTP/2 unless HTTP2 allows it): 505;
- both Content-Length and Transfer-Encoding: 400;
- a WebSocket upgrade when the app has no WebSocket route: 404.

HTTP/1.0 reaches the app as "1.0" on every server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
    WebsocketScope,
)

from .errors import error_body

HTTP_VERSIONS = ("1.0", "1.1")
# Other spellings of an HTTP version servers put in the scope, and ASGI's.
VERSION_SPELLINGS = {"1": "1.0"}  # granian
NO_WEBSOCKETS = "this service has no WebSocket endpoint"

# (status, reason phrase, message)
Refusal = tuple[int, str, str]


def refusal_body(status: int, reason: str, message: str) -> bytes:
    """errors.py's body, encoded here: no Quart response at this level."""
    error = error_body(status, reason, message)
    return json.dumps(error, separators=(",", ":"), sort_keys=True).encode()


def refusal_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]


def is_websocket_upgrade(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"upgrade" and value.lower() == b"websocket" for name, value in headers
    )


class RequestGuardMiddleware:
    """Answer malformed or unsupported requests before the app sees them."""

    def __init__(
        self,
        app: ASGIFramework,
        allow_http2: bool,
        has_websocket_routes: Callable[[], bool],
    ) -> None:
        self.app = app
        self.http_versions = (*HTTP_VERSIONS, "2") if allow_http2 else HTTP_VERSIONS
        self.has_websocket_routes = has_websocket_routes

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http":
            version = VERSION_SPELLINGS.get(scope["http_version"])
            if version is not None:
                scope = scope.copy()
                scope["http_version"] = version
            refusal = self.refusal(scope)
            if refusal is not None:
                await self.refuse_http(send, *refusal)
                return
        elif scope["type"] == "websocket" and not self.has_websocket_routes():
            await self.refuse_websocket(scope, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: HTTPScope) -> Refusal | None:
        """Why this request is refused, or None to let it through."""
        version = scope["http_version"]
        if version not in self.http_versions:
            message = f"HTTP/{version} is not served here: use HTTP/1.1"
            return 505, "HTTP Version Not Supported", message
        if not scope["path"].startswith("/"):
            message = "the request target must be a path that starts with /"
            return 400, "Bad Request", message
        names = {name for name, _ in scope["headers"]}
        if b"content-length" in names and b"transfer-encoding" in names:
            message = "Content-Length and Transfer-Encoding must not both be sent"
            return 400, "Bad Request", message
        if (
            b"upgrade" in names
            and is_websocket_upgrade(scope["headers"])
            and not self.has_websocket_routes()
        ):
            return 404, "Not Found", NO_WEBSOCKETS
        return None

    @staticmethod
    async def refuse_http(
        send: ASGISendCallable, status: int, reason: str, message: str
    ) -> None:
        body = refusal_body(status, reason, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": refusal_headers(body),
                "trailers": False,
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @staticmethod
    async def refuse_websocket(scope: WebsocketScope, send: ASGISendCallable) -> None:
        """A 404 through the WebSocket Denial Response extension, which
        hypercorn and uvicorn support; without it, a plain close (a 403)."""
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        body = refusal_body(404, "Not Found", NO_WEBSOCKETS)
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 404,
                "headers": refusal_headers(body),
            }
        )
        await send(
            {"type": "websocket.http.response.body", "body": body, "more_body": False}
        )
