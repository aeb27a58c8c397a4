"""Request IDs, the access log and request metrics: one ASGI middleware
around the app, one pass per request.

Each HTTP request gets an ID: the caller's X-Request-ID when it is sane (1 to
128 letters, digits or `._:-`), else a new one. The ID is returned on every
response, error responses included, and stamped on every log line made while
the request runs (see logs.py). When the response has been sent, one access
line is logged with the method, path (without the query string, which may
carry secrets), status, duration and client address. The same status and
duration (one clock read when the request arrives, one when it is done) go
to the request metrics (metrics.py) for every HTTP request, the guard's
refusals included.

It also holds back the end of a response to a request that announces a
body while that body is still arriving (Quart reads it in the background,
and past MAX_CONTENT_LENGTH drops what it reads): hypercorn and granian close
the connection when a response ends before its request body has been read,
and a gateway still sending that body (a large POST answered 404, 405 or 401)
then gives its client a 502 instead of the service's answer. The wait ends
when the body is complete, when none of it has come for BODY_IDLE seconds (a
client that announced a body and sends none is answered after that short
pause, not BODY_WAIT) or after BODY_WAIT seconds in all.

WebSocket handshakes get the same treatment: an ID on the accept or the
refusal, and an access line when the connection ends (status 101 when it was
accepted, else the refusal's status).

It is a middleware rather than before/after_request hooks so that it sees
every response, also those Quart makes before or after the hooks run, and
times the whole request. Put it inside proxy handling (see proxies.py), which
sets the client address it logs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Iterable
from contextlib import suppress

# Quart's own dependency, hypercorn, names the ASGI types (whichever server runs).
from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPScope,
    Scope,
    WebsocketScope,
)

from .logs import log_access, request_id_var
from .metrics import RequestMetrics

REQUEST_ID_HEADER = b"x-request-id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
BODY_WAIT = 5.0
BODY_IDLE = 0.25
# What a server answers to a WebSocket closed before it was accepted.
WEBSOCKET_CLOSED = 403


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID if it is sane, else a new random one."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # as random as uuid4().hex, and cheaper


def has_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the request announces a body (GET and HEAD usually do not)."""
    return any(
        name == b"transfer-encoding" or (name == b"content-length" and value != b"0")
        for name, value in headers
    )


class BodyProgress:
    """Whether the request body has all come, and a signal each time a part
    of it does."""

    def __init__(self, receive: ASGIReceiveCallable) -> None:
        self._receive = receive
        self.reading = False  # whether anything reads the body at all
        self.complete = False
        self.arrived = asyncio.Event()

    async def receive(self) -> ASGIReceiveEvent:
        self.reading = True
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            self.complete = True
        self.arrived.set()
        return message

    async def wait(self) -> None:
        """Until the body is complete, stalls for BODY_IDLE, or BODY_WAIT ends;
        not at all when nothing reads it (a refusal in guard.py)."""
        await asyncio.sleep(0)  # a reader that has just started gets its turn
        if not self.reading:
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(BODY_WAIT):
                while not self.complete:
                    self.arrived.clear()
                    async with asyncio.timeout(BODY_IDLE):
                        await self.arrived.wait()


class RequestContextMiddleware:
    """Give each request an ID, return it, log one access line and, given
    `request_metrics`, count and time each HTTP request there."""

    def __init__(
        self,
        app: ASGIFramework,
        access_logger: logging.Logger,
        request_metrics: RequestMetrics | None = None,
    ) -> None:
        self.app = app
        self.access_logger = access_logger
        self.metrics = request_metrics

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http":
            metrics = self.metrics
        elif scope["type"] == "websocket":
            metrics = None  # the figures are HTTP requests'
        else:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        # What the server answers if the app sends nothing.
        status = 500 if scope["type"] == "http" else WEBSOCKET_CLOSED
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        body: BodyProgress | None = None
        if scope["type"] == "http" and has_body(scope["headers"]):
            body = BodyProgress(receive)
            receive = body.receive

        async def send_with_request_id(message: ASGISendEvent) -> None:
            nonlocal status
            if (
                message["type"] == "http.response.start"
                or message["type"] == "websocket.http.response.start"
            ):
                status = message["status"]
                message["headers"] = [*message["headers"], id_header]
            elif message["type"] == "websocket.accept":
                status = 101
                message["headers"] = [*message.get("headers", ()), id_header]
            elif message["type"] == "http.response.body" and not message.get(
                "more_body"
            ):
                if body is not None:
                    await body.wait()
                # Noted before the last part leaves: a request the client saw
                # answered has its access line, even if the server stops now.
                finish()
            await send(message)

        finished = False

        def finish() -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            seconds = time.perf_counter() - started
            if metrics is not None:
                metrics.observe_request(scope, status, seconds)  # type: ignore[arg-type]
            self._log_access(scope, request_id, status, seconds)

        if metrics is not None:
            metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            if metrics is not None:
                metrics.in_flight.dec()
            finish()
            request_id_var.reset(token)

    def _log_access(
        self,
        scope: HTTPScope | WebsocketScope,
        request_id: str,
        status: int,
        seconds: float,
    ) -> None:
        client = scope.get("client")
        log_access(
            self.access_logger,
            request_id,
            # A WebSocket handshake is a GET; its scope has no method.
            scope["method"] if scope["type"] == "http" else "GET",
            scope["path"],
            status,
            round(seconds * 1000, 2),
            client[0] if client else None,
        )
