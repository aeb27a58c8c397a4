"""Tokens for calls to other services (core/client_credentials.py).

A transport stands in for the token endpoint and the called service (httpx's
MockTransport would read every request body first, which a server does not);
test_client.py fetches tokens from a real server.
"""

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from tokens import Clock

from {{ cookiecutter.project_slug }}.core.client_credentials import (
    ClientCredentials,
    Credentials,
    TokenError,
    credentials_from_settings,
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


@pytest.fixture
def endpoints() -> Endpoints:
    return Endpoints()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(endpoints: Endpoints, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the auth, as the app's client (client.py) has it."""
    async with httpx.AsyncClient(transport=endpoints) as client:
        client.auth = ClientCredentials(CREDENTIALS, client, clock)
        yield client


async def test_one_fetch_serves_many_calls(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    for _ in range(3):
        assert (await http.get(API)).status_code == 200

    assert len(endpoints.fetches) == 1
    assert endpoints.sent == ["Bearer token-1"] * 3


async def test_the_token_request_follows_rfc_6749(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    await http.get(API)

    [fetch] = endpoints.fetches
    assert fetch.method == "POST"
    assert fetch.headers["Accept"] == "application/json"
    # 2.3.1: the ID and secret are each form-encoded, then sent as HTTP Basic.
    basic = base64.b64encode(b"svc%3A1:s3cret+value").decode()
    assert fetch.headers["Authorization"] == f"Basic {basic}"
    assert fetch.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert fetch.content == b"grant_type=client_credentials&scope=orders%3Aread"


async def test_no_scope_is_asked_for_without_one(endpoints: Endpoints) -> None:
    async with httpx.AsyncClient(transport=endpoints) as client:
        client.auth = ClientCredentials(Credentials(TOKEN_URL, "svc", SECRET), client)
        await client.get(API)

    assert endpoints.fetches[0].content == b"grant_type=client_credentials"


async def test_concurrent_calls_share_one_fetch(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    endpoints.gate.clear()
    calls = [asyncio.create_task(http.get(API)) for _ in range(20)]
    await asyncio.sleep(0.05)
    assert len(endpoints.fetches) == 1  # the others wait for it

    endpoints.gate.set()
    responses = await asyncio.gather(*calls)

    assert [r.status_code for r in responses] == [200] * 20
    assert len(endpoints.fetches) == 1
    assert set(endpoints.sent) == {"Bearer token-1"}


@pytest.mark.parametrize(
    ("expires_in", "renewed_after"),
    [(300, 270.0), ("3600", 3570.0), (40, 20.0), (0.5, 0.25)],
    ids=["30s-before", "string", "half-of-40s", "half-of-0.5s"],
)
async def test_a_token_is_renewed_shortly_before_it_expires(
    http: httpx.AsyncClient,
    endpoints: Endpoints,
    clock: Clock,
    expires_in: Any,
    renewed_after: float,
) -> None:
    def answer(fetch: int) -> httpx.Response:
        body = {"access_token": f"token-{fetch}", "expires_in": expires_in}
        return httpx.Response(200, json=body)

    endpoints.answer = answer
    started = clock.now
    await http.get(API)
    clock.now = started + renewed_after - 0.01
    await http.get(API)
    clock.now = started + renewed_after
    await http.get(API)

    assert endpoints.sent == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_a_token_without_expiry_is_kept_until_refused(
    http: httpx.AsyncClient, endpoints: Endpoints, clock: Clock
) -> None:
    endpoints.answer = lambda n: httpx.Response(200, json={"access_token": f"t{n}"})
    await http.get(API)
    clock.now += 10**9
    await http.get(API)
    endpoints.refused = {"t1"}
    await http.get(API)

    assert endpoints.sent == [
        "Bearer t1",
        "Bearer t1",
        "Bearer t1",  # refused: 401
        "Bearer t2",
    ]


async def test_a_401_gets_a_new_token_and_one_retry(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    endpoints.refused = {"token-1"}

    response = await http.post(API, json={"item": 1})

    assert response.status_code == 200
    assert endpoints.sent == ["Bearer token-1", "Bearer token-2"]
    assert endpoints.bodies == [b'{"item":1}'] * 2


async def test_a_second_401_is_returned_as_it_is(
    http: httpx.AsyncClient, endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    endpoints.refused = {"token-1", "token-2"}

    response = await http.get(API)

    assert response.status_code == 401
    assert len(endpoints.sent) == 2
    assert len(endpoints.fetches) == 2
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage() == (
        "GET api.test refused a new token too: check CLIENT_ID, TOKEN_SCOPE and"
        " the audience the called service expects"
    )


async def test_calls_refused_together_share_one_new_token(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    await http.get(API)  # token-1, accepted
    endpoints.refused = {"token-1"}

    responses = await asyncio.gather(*(http.get(API) for _ in range(5)))

    assert [r.status_code for r in responses] == [200] * 5
    assert len(endpoints.fetches) == 2
    assert endpoints.sent.count("Bearer token-1") == 1 + 5


async def test_a_streamed_body_is_not_sent_again(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"part"

    endpoints.refused = {"token-1"}

    response = await http.post(API, content=body())

    assert response.status_code == 401
    assert len(endpoints.sent) == 1
    assert len(endpoints.fetches) == 1


async def test_a_call_with_its_own_authorization_gets_no_token(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    await http.get(API, headers={"Authorization": "ApiKey third-party"})

    assert endpoints.sent == ["ApiKey third-party"]
    assert endpoints.fetches == []


async def test_a_call_with_auth_none_gets_no_token(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    await http.get(API, auth=None)

    assert endpoints.sent == [None]
    assert endpoints.fetches == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            httpx.Response(
                401, json={"error": "invalid_client", "error_description": "bad"}
            ),
            "answered 401 Unauthorized (invalid_client: bad)",
        ),
        (
            httpx.Response(400, json={"error": "invalid_scope"}),
            "answered 400 Bad Request (invalid_scope)",
        ),
        (
            httpx.Response(503, text="upstream down"),
            "answered 503 Service Unavailable",
        ),
        (httpx.Response(200, text="<html>"), "answered no JSON object"),
        (httpx.Response(200, json=["token"]), "answered no JSON object"),
        (httpx.Response(200, json={}), "answered no access_token"),
        (httpx.Response(200, json={"access_token": ""}), "answered no access_token"),
        (httpx.Response(200, json={"access_token": 7}), "answered no access_token"),
        (
            httpx.Response(200, json={"access_token": "t", "token_type": "mac"}),
            "answered a token that is not Bearer",
        ),
        (
            httpx.Response(200, json={"access_token": "t", "token_type": None}),
            "answered a token that is not Bearer",
        ),
        (
            httpx.Response(200, json={"access_token": "t", "expires_in": "soon"}),
            "answered a bad expires_in",
        ),
        (
            httpx.Response(200, json={"access_token": "t", "expires_in": 0}),
            "answered a bad expires_in",
        ),
        (
            httpx.Response(200, json={"access_token": "t", "expires_in": True}),
            "answered a bad expires_in",
        ),
    ],
    ids=[
        "oauth-error",
        "oauth-error-code-only",
        "error-status",
        "not-json",
        "not-an-object",
        "no-token",
        "empty-token",
        "token-not-text",
        "not-bearer",
        "token-type-not-text",
        "expiry-not-a-number",
        "expiry-zero",
        "expiry-boolean",
    ],
)
async def test_a_bad_token_answer_is_a_token_error(
    http: httpx.AsyncClient,
    endpoints: Endpoints,
    answer: httpx.Response,
    reason: str,
) -> None:
    endpoints.answer = lambda _: answer

    with pytest.raises(TokenError) as raised:
        await http.get(API)

    assert str(raised.value) == f"token endpoint {TOKEN_URL} {reason}"
    assert raised.value.request.url == API  # the call that needed the token
    assert endpoints.sent == []


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectError("connection refused"), "ConnectError: connection refused"),
        (httpx.ReadTimeout(""), "ReadTimeout"),
    ],
    ids=["refused", "timeout"],
)
async def test_an_unreachable_token_endpoint_is_a_token_error(
    http: httpx.AsyncClient,
    endpoints: Endpoints,
    error: httpx.HTTPError,
    reason: str,
) -> None:
    def unreachable(_: int) -> httpx.Response:
        raise error

    endpoints.answer = unreachable

    with pytest.raises(TokenError, match=f"^token endpoint {TOKEN_URL}: {reason}$"):
        await http.get(API)


async def test_callers_waiting_on_a_failed_fetch_fail_with_it(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    endpoints.answer = lambda _: httpx.Response(503)
    endpoints.gate.clear()
    calls = [asyncio.create_task(http.get(API)) for _ in range(5)]
    await asyncio.sleep(0.05)
    endpoints.gate.set()

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(result, TokenError) for result in results)
    assert len(endpoints.fetches) == 1  # not one each, in turn
    endpoints.answer = token_answer
    assert (await http.get(API)).status_code == 200  # a later call tries again
    assert len(endpoints.fetches) == 2


async def test_a_cancelled_fetch_leaves_the_next_caller_to_fetch(
    http: httpx.AsyncClient, endpoints: Endpoints
) -> None:
    endpoints.gate.clear()
    first = asyncio.create_task(http.get(API))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(http.get(API))
    await asyncio.sleep(0.01)
    first.cancel()
    await asyncio.sleep(0.01)
    endpoints.gate.set()

    assert (await second).status_code == 200
    assert first.cancelled()
    assert endpoints.sent == ["Bearer token-2"]


async def test_neither_secret_nor_token_is_logged(
    http: httpx.AsyncClient, endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    endpoints.refused = {"token-1", "token-2"}
    await http.get(API)
    endpoints.answer = lambda _: httpx.Response(401, json={"error": "invalid_client"})
    endpoints.refused = {"token-1", "token-2", "token-3"}
    with pytest.raises(TokenError) as raised:
        await http.get(API)

    for text in (caplog.text, str(raised.value), repr(CREDENTIALS)):
        assert SECRET not in text
        assert "token-" not in text


def test_credentials_come_from_the_settings() -> None:
    settings: dict[str, Any] = {
        "TOKEN_URL": TOKEN_URL,
        "CLIENT_ID": "svc",
        "CLIENT_SECRET": SECRET,
        "TOKEN_SCOPE": None,
    }

    assert credentials_from_settings(settings) == Credentials(TOKEN_URL, "svc", SECRET)
    assert credentials_from_settings({**settings, "TOKEN_URL": None}) is None
