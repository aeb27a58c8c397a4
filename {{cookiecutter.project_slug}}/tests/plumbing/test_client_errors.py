"""Calls to other services that fail: a JSON 504 for a call that takes too
long, a 502 for any other failure, and one log line naming the call, without
its query string.

The other service is a real one, served on a free loopback port
(client_calls.py). What calls that succeed carry: test_client.py.
"""

import socket

import pytest
from quart.typing import TestClientProtocol as Client

from tests.support.client_calls import OtherService, caller_app, get


def failed_calls(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log lines of calls that failed."""
    lines = [record.getMessage() for record in caplog.records]
    return [line for line in lines if line.startswith("call failed: ")]


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
{%- if cookiecutter.auth == 'jwt' %}


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
{%- endif %}
