"""The client for calls to other services (core/client.py).

The other service is a real one: a small Quart app that hypercorn serves on a
free loopback port, in the test's event loop. It records what it receives.
"""

import asyncio
{%- if cookiecutter.auth == 'jwt' %}
import base64
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}
import logging
{%- endif %}
import socket
{%- if cookiecutter.auth == 'jwt' %}
import time
{%- endif %}
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
{%- if cookiecutter.auth == 'jwt' %}
import jwt
{%- endif %}
import pytest
{%- if cookiecutter.auth == 'jwt' %}
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
{%- endif %}
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Blueprint, Quart, Response, current_app, request
from quart.typing import ResponseReturnValue
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.client import service_client
from {{ cookiecutter.project_slug }}.core.logs import request_id_var
{%- if cookiecutter.auth == 'jwt' %}
from {{ cookiecutter.project_slug }}.core.settings import SettingsError

# The service takes bearer tokens (core/auth.py): these settings and tokens
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


@pytest.fixture
async def other() -> AsyncIterator[OtherService]:
    """Another service, served on a free loopback port for the test."""
    service = OtherService()
    # Bound here, so the port is known and taken before hypercorn runs.
    listener = socket.create_server(("127.0.0.1", 0))
    service.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.errorlog = None
    config.graceful_timeout = 0.5
    stop = asyncio.Event()
    server = asyncio.create_task(serve(service.app, config, shutdown_trigger=stop.wait))
    yield service
    stop.set()
    await server


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
    """The service, with the `calls` blueprint calling `other_url`."""
    return create_app(
        blueprints=[calls],
        OTHER_URL=other_url,
        TESTING=True,
{%- if cookiecutter.auth == 'jwt' %}
        **CALLER_SETTINGS,
{%- endif %}
        **settings,
    )


@pytest.fixture
async def caller(other: OtherService) -> AsyncIterator[Client]:
    """A test client of the service, whose `calls` call `other`."""
    app = caller_app(other.url)
    async with app.test_app():
        yield app.test_client()


async def get(client: Client, path: str, request_id: str | None = None) -> Response:
    """GET `path` from the service{% if cookiecutter.auth == 'jwt' %} with a token it accepts{% endif %}, sending `request_id`."""
    headers = {} if request_id is None else {"X-Request-ID": request_id}
{%- if cookiecutter.auth == 'jwt' %}
    headers.update(caller_headers())
{%- endif %}
    return await client.get(path, headers=headers)


def failed_calls(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log lines of calls that failed."""
    lines = [record.getMessage() for record in caplog.records]
    return [line for line in lines if line.startswith("call failed: ")]


async def test_the_client_exists_only_while_serving() -> None:
    app = create_app({% if cookiecutter.auth == 'jwt' %}**CALLER_SETTINGS{% endif %})
    async with app.app_context():
        with pytest.raises(RuntimeError, match="only while the app serves"):
            service_client()

    async with app.test_app(), app.app_context():
        client = service_client()
        assert not client.is_closed

    assert client.is_closed
    async with app.app_context():
        with pytest.raises(RuntimeError, match="only while the app serves"):
            service_client()


async def test_timeouts_come_from_the_settings() -> None:
    app = create_app(
        CLIENT_CONNECT_TIMEOUT=1.5,
        CLIENT_READ_TIMEOUT=7,
{%- if cookiecutter.auth == 'jwt' %}
        **CALLER_SETTINGS,
{%- endif %}
    )
    async with app.test_app(), app.app_context():
        timeout = service_client().timeout

    assert timeout == httpx.Timeout(connect=1.5, read=7, write=7, pool=1.5)


async def test_a_call_that_takes_too_long_is_a_504(
    other: OtherService, caplog: pytest.LogCaptureFixture
) -> None:
    app = caller_app(other.url, CLIENT_READ_TIMEOUT=0.1)
    async with app.test_app():
        response = await get(app.test_client(), "/call/slow?key=secret")

    assert response.status_code == 504
    body = await response.get_json()
    assert body["message"] == "a service this one calls did not answer in time"
    [line] = failed_calls(caplog)
    assert line == f"call failed: GET {other.url}/slow: ReadTimeout"  # no query


async def test_a_refused_connection_is_a_502(caplog: pytest.LogCaptureFixture) -> None:
    unused = socket.create_server(("127.0.0.1", 0))  # a port nothing answers on
    port = unused.getsockname()[1]
    unused.close()
    url = f"http://127.0.0.1:{port}"
    app = caller_app(url)
    async with app.test_app():
        response = await get(app.test_client(), "/call/items")

    assert response.status_code == 502
    assert (await response.get_json())["message"] == "a call to another service failed"
    [line] = failed_calls(caplog)
    assert line.startswith(f"call failed: GET {url}/items: ConnectError")


async def test_an_error_status_raised_for_is_a_502(
    caller: Client, other: OtherService, caplog: pytest.LogCaptureFixture
) -> None:
    response = await get(caller, "/call/status/503")

    assert response.status_code == 502
    [line] = failed_calls(caplog)
    reason = "HTTPStatusError: answered 503"
    assert line == f"call failed: GET {other.url}/status/503: {reason}"


async def test_an_error_without_its_call_is_a_502(
    caller: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = await get(caller, "/fail")

    assert response.status_code == 502
    assert failed_calls(caplog) == [
        "call failed: a call: HTTPError: made by hand, without its request"
    ]


async def test_the_request_id_is_forwarded(caller: Client, other: OtherService) -> None:
    response = await get(caller, "/call/items", request_id="trace-1")

    assert response.status_code == 200
    assert other.received[-1].headers["x-request-id"] == "trace-1"


async def test_a_request_id_made_by_the_service_is_forwarded(
    caller: Client, other: OtherService
) -> None:
    response = await get(caller, "/call/items")

    made = response.headers["X-Request-ID"]
    assert other.received[-1].headers["x-request-id"] == made


async def test_concurrent_requests_forward_their_own_ids(
    caller: Client, other: OtherService
) -> None:
    ids = [f"req-{n}" for n in range(8)]

    await asyncio.gather(*(get(caller, f"/call/{each}", each) for each in ids))

    forwarded = {each.path: each.headers["x-request-id"] for each in other.received}
    assert forwarded == {f"/{each}": each for each in ids}


async def test_a_request_id_the_call_sets_wins(other: OtherService) -> None:
    app = caller_app(other.url)
    async with app.test_app(), app.app_context():
        token = request_id_var.set("the-request")
        try:
            url = f"{other.url}/items"
            await service_client().get(url, headers={"X-Request-ID": "own"})
        finally:
            request_id_var.reset(token)

    assert other.received[-1].headers["x-request-id"] == "own"


async def test_a_call_outside_a_request_carries_no_request_id(
    other: OtherService,
) -> None:
    app = caller_app(other.url)
    async with app.test_app(), app.app_context():
        await service_client().get(f"{other.url}/items")

    assert "x-request-id" not in other.received[-1].headers


async def test_the_user_agent_names_the_service(
    caller: Client, other: OtherService
) -> None:
    await get(caller, "/call/items")

    agent = other.received[-1].headers["user-agent"]
    assert agent.startswith("{{ cookiecutter.project_slug }}/")


async def test_no_cookie_passes_from_one_call_to_the_next(
    caller: Client, other: OtherService
) -> None:
    await get(caller, "/call/cookie")
    await get(caller, "/call/items")

    assert other.received[-1].path == "/items"
    assert "cookie" not in other.received[-1].headers
{%- if cookiecutter.auth == 'jwt' %}


async def test_without_token_url_calls_carry_no_token(
    caller: Client, other: OtherService
) -> None:
    await get(caller, "/call/items")

    assert "authorization" not in other.received[-1].headers


async def test_with_token_url_calls_carry_the_service_token(
    other: OtherService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = caller_app(
        other.url,
        TOKEN_URL=f"{other.url}/token",
        CLIENT_ID="my service",
        CLIENT_SECRET="s3cret:value",
        TOKEN_SCOPE="orders:read",
    )
    async with app.test_app():
        client = app.test_client()
        await get(client, "/call/items", request_id="trace-1")
        await get(client, "/call/more", request_id="trace-2")

    fetch, first, second = other.received
    assert fetch.path == "/token"
    # RFC 6749 2.3.1: each form-encoded, then HTTP Basic.
    basic = base64.b64encode(b"my+service:s3cret%3Avalue").decode()
    assert fetch.headers["authorization"] == f"Basic {basic}"
    assert fetch.form == {"grant_type": "client_credentials", "scope": "orders:read"}
    assert fetch.headers["x-request-id"] == "trace-1"
    assert first.headers["authorization"] == "Bearer token-1"  # not the caller's
    assert second.headers["authorization"] == "Bearer token-1"  # kept
    assert "s3cret" not in caplog.text
    assert "token-1" not in caplog.text


async def test_a_token_that_cannot_be_had_is_a_502(
    other: OtherService, caplog: pytest.LogCaptureFixture
) -> None:
    app = caller_app(
        other.url, TOKEN_URL=f"{other.url}/missing", CLIENT_ID="svc", CLIENT_SECRET="s"
    )
    async with app.test_app():
        response = await get(app.test_client(), "/call/items")

    assert response.status_code == 502
    assert [each.path for each in other.received] == ["/missing"]  # only the fetch
    [line] = failed_calls(caplog)
    assert line.startswith(f"call failed: GET {other.url}/items: TokenError: token")


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"CLIENT_ID": "svc"}, "CLIENT_SECRET"),
        ({"CLIENT_SECRET": "s"}, "CLIENT_ID"),
        ({}, "CLIENT_ID and CLIENT_SECRET"),
    ],
    ids=["no-secret", "no-id", "neither"],
)
def test_token_url_without_credentials_stops_startup(
    given: dict[str, Any], missing: str
) -> None:
    with pytest.raises(SettingsError, match=f"TOKEN_URL is set, so {missing} must"):
        create_app(TOKEN_URL="https://idp.test/token", **CALLER_SETTINGS, **given)
{%- endif %}
