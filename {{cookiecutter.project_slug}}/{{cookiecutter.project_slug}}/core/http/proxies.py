"""Trusted proxies: take the client's address, scheme, host and mount prefix
from the X-Forwarded-* headers, only from TRUSTED_PROXY_HOPS proxies.

At 0 hops (the packaged default) the headers are ignored; the deploy files set
1, for the nginx gateway. X-Forwarded-Prefix is honoured, so
`url_for(..., _external=True)` builds the public URL.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
    WebsocketScope,
)
from quart import Quart

FORWARDED_HEADERS = {
    b"x-forwarded-for": "for",
    b"x-forwarded-proto": "proto",
    b"x-forwarded-host": "host",
    b"x-forwarded-prefix": "prefix",
}
WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}


class ProxyHeadersMiddleware:
    """Rewrite the scope from the X-Forwarded-* headers of trusted proxies."""

    def __init__(self, app: ASGIFramework, trusted_hops: int) -> None:
        self.app = app
        self.trusted_hops = trusted_hops

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http" or scope["type"] == "websocket":
            forwarded = self.trusted_values(scope["headers"])
            if forwarded:
                scope = rewritten(scope, forwarded)
        await self.app(scope, receive, send)

    def trusted_values(self, headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
        """Each X-Forwarded-* header's entry `trusted_hops` from the right,
        for the headers that have that many entries (repeats count too)."""
        entries: dict[str, list[str]] = {}
        for name, value in headers:
            key = FORWARDED_HEADERS.get(name)
            if key is not None:
                parts = value.decode("latin-1").split(",")
                entries.setdefault(key, []).extend(part.strip() for part in parts)
        hops = self.trusted_hops
        return {
            key: parts[-hops] for key, parts in entries.items() if len(parts) >= hops
        }


def rewritten(
    scope: HTTPScope | WebsocketScope, forwarded: dict[str, str]
) -> HTTPScope | WebsocketScope:
    """A shallow copy of `scope` as the client saw the request."""
    scope = scope.copy()
    if "for" in forwarded:
        scope["client"] = (forwarded["for"], 0)
    if "proto" in forwarded:
        proto = forwarded["proto"].lower()
        is_websocket = scope["type"] == "websocket"
        scope["scheme"] = WEBSOCKET_SCHEMES.get(proto, proto) if is_websocket else proto
    if "host" in forwarded:
        scope["headers"] = [
            *((name, value) for name, value in scope["headers"] if name != b"host"),
            (b"host", forwarded["host"].encode("latin-1")),
        ]
    prefix = forwarded.get("prefix", "").rstrip("/")
    if prefix.startswith("/"):
        # The gateway stripped the prefix; ASGI wants `path` to include it.
        # (raw_path is optional in ASGI.)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        scope["root_path"] = prefix
        scope["path"] = prefix + scope["path"]
        scope["raw_path"] = prefix.encode("latin-1") + raw_path
    return scope


def trust_proxies(app: Quart, hops: int) -> None:
    """Honour X-Forwarded-* from `hops` proxies; 0 leaves the app untouched."""
    if hops:
        app.asgi_app = ProxyHeadersMiddleware(  # type: ignore[method-assign]
            app.asgi_app, hops
        )
