"""Tokens for calls to other services (core/service_calls/credentials.py): one fetch
shared by the calls, renewed before the token expires, fetched again once on a
401, and no token for a call that brings its own authorization.

A transport stands in for the token endpoint and the called service
(credential_calls.py); test_client.py fetches tokens from a real server.
Fetches that fail: test_client_credentials_errors.py.
"""

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.service_calls.credentials import (
    ClientCredentials,
    Credentials,
    credentials_from_settings,
)
from {{ cookiecutter.project_slug }}.core.settings import load_settings

from tests.support.credential_calls import API, SECRET, TOKEN_URL, Endpoints
from tests.support.tokens import Clock


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


def test_credentials_come_from_the_settings() -> None:
    settings: dict[str, Any] = {
        "TOKEN_URL": TOKEN_URL,
        "CLIENT_ID": "svc",
        "CLIENT_SECRET": SECRET,
        "TOKEN_SCOPE": None,
    }

    given = load_settings(overrides=settings)
    unset = load_settings(overrides={**settings, "TOKEN_URL": None})

    assert credentials_from_settings(given) == Credentials(TOKEN_URL, "svc", SECRET)
    assert credentials_from_settings(unset) is None
