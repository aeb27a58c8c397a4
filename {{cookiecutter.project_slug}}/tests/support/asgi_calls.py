"""Calling the app's ASGI stack directly, with the scopes servers make: for
what the test client cannot send (a malformed target, another HTTP version)
or changes on the way back (it gives every response a Content-Type).
{%- if cookiecutter.auth == 'jwt' %}
Like the test client (conftest.py), `call` sends a token with every scope the
app declares unless the scope has an Authorization header.
{%- endif %}"""

import asyncio
import json
from typing import Any

from quart import Quart
{%- if cookiecutter.auth == 'jwt' %}

from tests.support.tokens import every_scope_token
{%- endif %}

Message = dict[str, Any]


def http_scope(**changes: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"svc")],
        "client": ("192.0.2.1", 5000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
    }
    scope.update(changes)
    return scope


def websocket_scope(**changes: Any) -> dict[str, Any]:
    scope = http_scope(type="websocket", scheme="ws", subprotocols=[])
    del scope["method"]
    scope["extensions"] = {"websocket.http.response": {}}
    scope.update(changes)
    return scope


async def call(app: Quart, scope: dict[str, Any], body: bytes = b"") -> list[Message]:
    """What the app sends for `scope`, given `body` (or a WebSocket connect),
    with the client gone once the answer is complete, as servers report it."""
{%- if cookiecutter.auth == 'jwt' %}
    if all(name != b"authorization" for name, _ in scope["headers"]):
        token = every_scope_token(app).encode()
        headers = [*scope["headers"], (b"authorization", b"Bearer " + token)]
        scope = {**scope, "headers": headers}
{%- endif %}
    sent: list[Message] = []
    answered = asyncio.Event()
    received = False

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            if scope["type"] == "websocket":
                return {"type": "websocket.connect"}
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()
        return {"type": f"{scope['type']}.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)
        ended = message["type"] == "websocket.close" or (
            message["type"].endswith("response.body") and not message.get("more_body")
        )
        if ended:
            answered.set()

    await app.asgi_app(scope, receive, send)  # type: ignore[arg-type]
    return sent


def response_of(sent: list[Message]) -> tuple[int, dict[bytes, bytes], Any]:
    """Status, headers and JSON body of an HTTP (or WebSocket denial) answer."""
    start, *bodies = sent
    body = b"".join(message.get("body", b"") for message in bodies)
    return start["status"], dict(start["headers"]), json.loads(body)
