"""A token endpoint and a service to call, in one transport: what
test_client_credentials.py and test_client_credentials_errors.py share.

httpx's MockTransport would read every request body first, which a server
does not. The `endpoints` and `http` fixtures (conftest.py) give each test its
own Endpoints, and a client whose auth gets its tokens there.
"""

import asyncio
from collections.abc import Callable

import httpx

from {{ cookiecutter.project_slug }}.core.service_calls.credentials import (
    Credentials,
)

TOKEN_URL = "https://idp.test/token"
API = "https://api.test/items"
SECRET = "s3cret value"
CREDENTIALS = Credentials(TOKEN_URL, "svc:1", SECRET, "orders:read")


def token_answer(fetch: int) -> httpx.Response:
    """The token endpoint's answer to its `fetch`th request."""
    token = {"access_token": f"token-{fetch}", "token_type": "Bearer"}
    return httpx.Response(200, json={**token, "expires_in": 300})


class Endpoints(httpx.AsyncBaseTransport):
    """A token endpoint, and a service refusing the tokens in `refused`."""

    def __init__(self) -> None:
        self.fetches: list[httpx.Request] = []
        self.sent: list[str | None] = []  # each call's Authorization header
        self.bodies: list[bytes] = []
        self.answer: Callable[[int], httpx.Response] = token_answer
        self.refused: set[str] = set()
        self.gate = asyncio.Event()  # the token endpoint answers once it is set
        self.gate.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.fetches.append(request)
            await self.gate.wait()
            return self.answer(len(self.fetches))
        authorization = request.headers.get("Authorization")
        self.sent.append(authorization)
        # Read as a server does: a streamed body can be read once only.
        assert isinstance(request.stream, httpx.AsyncByteStream)
        self.bodies.append(b"".join([part async for part in request.stream]))
        token = (authorization or "").removeprefix("Bearer ")
        if token in self.refused:
            await asyncio.sleep(0.01)  # calls refused together overlap
            return httpx.Response(401)
        return httpx.Response(200)
