"""Trusted proxies: behind a gateway, take the client's address, scheme, host
and mount prefix from the X-Forwarded-* headers the gateway sets, but only
from as many proxies as the service is told to trust (TRUSTED_PROXY_HOPS).

With 0 hops (the packaged default) the headers are ignored: a client could
forge them. The deploy files set 1: the nginx gateway appends the real client
to X-Forwarded-For, and the service takes the right-most entry.

X-Forwarded-For, -Proto and -Host are hypercorn's ProxyFixMiddleware's job
(hypercorn comes with Quart, whichever server runs the app); it ignores
X-Forwarded-Prefix, which ForwardedPrefixMiddleware below handles, so that
`url_for(..., _external=True)` builds the public URL under `/api/<slug>/`.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypercorn.middleware import ProxyFixMiddleware
from hypercorn.typing import ASGIFramework, ASGIReceiveCallable, ASGISendCallable, Scope
from quart import Quart

from .settings import SettingsError

PREFIX_HEADER = b"x-forwarded-prefix"


class ForwardedPrefixMiddleware:
    """Mount the app under the trusted X-Forwarded-Prefix: the ASGI root_path.

    The gateway strips the prefix before proxying; ASGI wants `path` to hold
    it, so it is put back in front.
    """

    def __init__(self, app: ASGIFramework, trusted_hops: int) -> None:
        self.app = app
        self.trusted_hops = trusted_hops

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http" or scope["type"] == "websocket":
            prefix = self.trusted_prefix(scope["headers"])
            if prefix:
                scope = scope.copy()
                scope["root_path"] = prefix
                scope["path"] = prefix + scope["path"]
                scope["raw_path"] = prefix.encode() + scope["raw_path"]
        await self.app(scope, receive, send)

    def trusted_prefix(self, headers: Iterable[tuple[bytes, bytes]]) -> str:
        values = [
            part.strip()
            for name, value in headers
            if name == PREFIX_HEADER
            for part in value.decode("latin-1").split(",")
        ]
        if len(values) < self.trusted_hops:
            return ""
        prefix = values[-self.trusted_hops].rstrip("/")
        return prefix if prefix.startswith("/") else ""


def trust_proxies(app: Quart, hops: int) -> None:
    """Honour X-Forwarded-* from `hops` proxies; 0 leaves the app untouched."""
    if type(hops) is not int or hops < 0:
        raise SettingsError(
            f"setting TRUSTED_PROXY_HOPS = {hops!r} must be a whole number, 0 or more"
        )
    if hops:
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            ForwardedPrefixMiddleware(app.asgi_app, hops),
            mode="legacy",
            trusted_hops=hops,
        )
