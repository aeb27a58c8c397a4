"""Fixtures of the plumbing's tests: other services and token endpoints on
loopback, and undoing the logging setup a test runs."""

import logging
from collections.abc import AsyncIterator, Iterator

{% if cookiecutter.auth == 'jwt' -%}
import httpx
{% endif -%}
import pytest
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }}.core.observability.log_writer import (
    BackgroundStreamHandler,
)
{%- if cookiecutter.auth == 'jwt' %}
from {{ cookiecutter.project_slug }}.core.service_calls.credentials import (
    ClientCredentials,
)
{%- endif %}

from tests.support.client_calls import OtherService, caller_app, served
{%- if cookiecutter.auth == 'jwt' %}
from tests.support.credential_calls import CREDENTIALS, Endpoints
from tests.support.tokens import Clock, JWKSServer, jwks_server
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}


@pytest.fixture
async def jwks() -> AsyncIterator[JWKSServer]:
    """The test issuer's key set (JWT_JWKS_URL), on a loopback port."""
    async with jwks_server() as server:
        yield server


@pytest.fixture
def endpoints() -> Endpoints:
    """A token endpoint and a service to call (credential_calls.py)."""
    return Endpoints()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(endpoints: Endpoints, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the auth, as the app's client has it
    (core/service_calls/client.py)."""
    async with httpx.AsyncClient(transport=endpoints) as client:
        client.auth = ClientCredentials(CREDENTIALS, client, clock)
        yield client
{%- endif %}


@pytest.fixture
async def other() -> AsyncIterator[OtherService]:
    """Another service (client_calls.py), served on a free loopback port for
    the test."""
    async with served(OtherService()) as service:
        yield service


@pytest.fixture
async def caller(other: OtherService) -> AsyncIterator[Client]:
    """A test client of the service, whose `calls` (client_calls.py) call
    `other`."""
    app = caller_app(other.url)
    async with app.test_app():
        yield app.test_client()


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo configure_logging (which asgi.py runs) after the test, closing the
    handlers it made and ending their writer threads."""
    for switch in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, switch, getattr(logging, switch))
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
            if isinstance(handler, BackgroundStreamHandler):
                handler.stop()
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.captureWarnings(False)
