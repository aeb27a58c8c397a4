"""The client for calls to other services (core/service_calls/client.py): its life and
settings, and what its calls carry: request IDs, a User-Agent, no cookies{% if cookiecutter.auth == 'jwt' %}
and the service's token{% endif %}.

The other service is a real one, served on a free loopback port
(client_calls.py). Calls that fail: test_client_errors.py.
"""

import asyncio
{%- if cookiecutter.auth == 'jwt' %}
import base64
import logging
from typing import Any
{%- endif %}

import httpx
import pytest
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.observability.logs import (
    request_id_var,
)
from {{ cookiecutter.project_slug }}.core.service_calls.client import (
    service_client,
)
{%- if cookiecutter.auth == 'jwt' %}
from {{ cookiecutter.project_slug }}.core.settings import SettingsError
{%- endif %}

from tests.support.client_calls import {% if cookiecutter.auth == 'jwt' %}CALLER_SETTINGS, {% endif %}OtherService, caller_app, get


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
