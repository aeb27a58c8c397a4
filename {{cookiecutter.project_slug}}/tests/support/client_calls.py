"""Another service to call, and the service calling it: what test_client.py
and test_client_errors.py share.

The other service is a real one: a small Quart app that hypercorn serves on a
free loopback port, in the test's event loop. It records what it receives.
The `other` and `caller` fixtures (conftest.py) serve it and call it.
"""

import asyncio
import socket
{%- if cookiecutter.auth == 'jwt' %}
import time
{%- endif %}
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
{%- if cookiecutter.auth == 'jwt' %}
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
{%- endif %}
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Blueprint, Quart, Response, current_app, request
from quart.typing import ResponseReturnValue
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.service_calls.client import (
    service_client,
)
{%- if cookiecutter.auth == 'jwt' %}

# The service takes bearer tokens (core/auth/tokens.py): these settings and tokens
# let the tests' requests in.
CALLER_KEY = ec.generate_private_key(ec.SECP256R1())
CALLER_SETTINGS: dict[str, Any] = {
    "JWT_PUBLIC_KEY": CALLER_KEY.public_key()
    .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    .decode(),
    "JWT_ISSUER": "https://issuer.test",
    "JWT_AUDIENCE": "{{ cookiecutter.project_slug }}",
}


def caller_headers() -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": CALLER_SETTINGS["JWT_ISSUER"],
        "aud": CALLER_SETTINGS["JWT_AUDIENCE"],
        "sub": "tests",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, CALLER_KEY, 'ES256')}"}
{%- endif %}


@dataclass
class Received:
    """A request the other service received."""

    path: str
    headers: dict[str, str]  # names in lowercase
    form: dict[str, str]


class OtherService:
    """Another service: 200 and `{}` for any GET but those below{% if cookiecutter.auth == 'jwt' %}; tokens
    (with no expiry) from POST /token{% endif %}."""

    def __init__(self) -> None:
        self.url = ""  # once served
        self.received: list[Received] = []
        self.app = Quart("other_service")
        self.app.before_request(self.record)
        self.app.add_url_rule("/<path:path>", view_func=self.answer, methods=["GET"])
        self.app.add_url_rule("/slow", view_func=self.slow)
        self.app.add_url_rule("/cookie", view_func=self.cookie)
        self.app.add_url_rule("/status/<int:status>", view_func=self.status)
{%- if cookiecutter.auth == 'jwt' %}
        self.app.add_url_rule("/token", view_func=self.token, methods=["POST"])
{%- endif %}

    async def record(self) -> None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        form = dict((await request.form).items())
        self.received.append(Received(request.path, headers, form))

    async def answer(self, path: str) -> ResponseReturnValue:
        return {}

    async def slow(self) -> ResponseReturnValue:
        await asyncio.sleep(2)
        return {}

    async def cookie(self) -> ResponseReturnValue:
        response = Response("{}", content_type="application/json")
        response.set_cookie("session", "alice")
        return response

    async def status(self, status: int) -> ResponseReturnValue:
        return {}, status
{%- if cookiecutter.auth == 'jwt' %}

    async def token(self) -> ResponseReturnValue:
        issued = sum(each.path == "/token" for each in self.received)
        return {"access_token": f"token-{issued}", "token_type": "Bearer"}
{%- endif %}


@asynccontextmanager
async def on_loopback(app: Quart, graceful_timeout: float) -> AsyncIterator[str]:
    """`app`, served by hypercorn on a free loopback port in the running event
    loop until the block ends; its base URL."""
    # Bound here, so the port is known and taken before hypercorn runs.
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.errorlog = None
    config.graceful_timeout = graceful_timeout
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        yield url
    finally:
        stop.set()
        await server


@asynccontextmanager
async def served(service: OtherService) -> AsyncIterator[OtherService]:
    """`service`, served on a free loopback port until the block ends."""
    async with on_loopback(service.app, graceful_timeout=0.5) as url:
        service.url = url
        yield service


calls = Blueprint("calls", __name__)


@calls.get("/call/<path:path>")
async def call(path: str) -> ResponseReturnValue:
    """Call the other service, as a view of the service does."""
    url = f"{current_app.config['OTHER_URL']}/{path}"
    response = await service_client().get(url, params=request.args)
    response.raise_for_status()
    return {"status": response.status_code}


@calls.get("/fail")
async def fail() -> ResponseReturnValue:
    raise httpx.HTTPError("made by hand, without its request")


def caller_app(other_url: str, **settings: Any) -> Quart:
    """The service, with the `calls` blueprint calling `other_url` (a key of
    the test's own in app.config: the service has no such setting)."""
    app = create_app(
        blueprints=[calls],
        TESTING=True,
{%- if cookiecutter.auth == 'jwt' %}
        **CALLER_SETTINGS,
{%- endif %}
        **settings,
    )
    app.config["OTHER_URL"] = other_url
    return app


async def get(client: Client, path: str, request_id: str | None = None) -> Response:
    """GET `path` from the service{% if cookiecutter.auth == 'jwt' %} with a token it accepts{% endif %}, sending `request_id`."""
    headers = {} if request_id is None else {"X-Request-ID": request_id}
{%- if cookiecutter.auth == 'jwt' %}
    headers.update(caller_headers())
{%- endif %}
    return await client.get(path, headers=headers)
