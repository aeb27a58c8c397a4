"""Token fetches that fail (core/service_calls/credentials.py): a bad answer or an
unreachable endpoint is a TokenError, for the call that needed the token and
every call waiting on the same fetch; a cancelled fetch leaves the next caller
to fetch; and neither the secret nor a token is ever logged.

A transport stands in for the token endpoint and the called service
(credential_calls.py). Fetches that succeed: test_client_credentials.py.
"""

import asyncio
import logging

import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.service_calls.credentials import (
    TokenError,
)

from tests.support.credential_calls import (
    API,
    CREDENTIALS,
    SECRET,
    TOKEN_URL,
    Endpoints,
    token_answer,
)


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
