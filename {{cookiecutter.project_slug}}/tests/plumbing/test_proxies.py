"""X-Forwarded-* headers count only from the configured number of proxies."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Blueprint, request, url_for
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.http.proxies import (
    ProxyHeadersMiddleware,
    rewritten,
)
from {{ cookiecutter.project_slug }}.core.settings import SettingsError
from {{ cookiecutter.project_slug }}.views import blueprints

seen = Blueprint("seen", __name__)


@seen.get("/seen")
async def what_the_app_sees() -> dict[str, str | None]:
    return {
        "remote_addr": request.remote_addr,
        "scheme": request.scheme,
        "host": request.host,
        "path": request.path,
        "external_url": url_for("seen.what_the_app_sees", _external=True),
    }


FORWARDED = {
    "X-Forwarded-For": "6.6.6.6, 203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "api.example.com",
    "X-Forwarded-Prefix": "/api/{{ cookiecutter.project_slug }}",
}


async def seen_with(hops: int) -> dict[str, str]:
    app = create_app(blueprints=[*blueprints, seen], TRUSTED_PROXY_HOPS=hops)
    async with app.test_app():
        response = await app.test_client().get("/seen", headers=FORWARDED)
        assert response.status_code == 200
        body: dict[str, str] = await response.get_json()
        return body


async def test_no_trusted_proxy_ignores_the_headers() -> None:
    body = await seen_with(0)

    assert body["remote_addr"] == "<local>"  # the test client's, unchanged
    assert body["scheme"] == "http"
    assert body["external_url"] == "http://localhost/seen"


async def test_one_trusted_proxy_gives_the_public_view() -> None:
    body = await seen_with(1)

    # The right-most X-Forwarded-For entry: the one the trusted proxy added.
    assert body["remote_addr"] == "203.0.113.9"
    assert body["scheme"] == "https"
    assert body["host"] == "api.example.com"
    assert body["path"] == "/seen"
    prefix = FORWARDED["X-Forwarded-Prefix"]
    assert body["external_url"] == f"https://api.example.com{prefix}/seen"


async def test_two_trusted_proxies_take_the_second_entry_from_the_right() -> None:
    assert (await seen_with(2))["remote_addr"] == "6.6.6.6"


async def test_a_trusted_proxy_that_sent_no_headers_changes_nothing() -> None:
    app = create_app(blueprints=[*blueprints, seen], TRUSTED_PROXY_HOPS=1)
    async with app.test_app():
        response = await app.test_client().get("/seen")

    body = await response.get_json()
    assert (body["remote_addr"], body["scheme"]) == ("<local>", "http")


def test_repeated_headers_count_as_entries() -> None:
    middleware = ProxyHeadersMiddleware(create_app(), trusted_hops=2)
    headers = [
        (b"x-forwarded-for", b"198.51.100.1"),
        (b"x-forwarded-for", b"198.51.100.2, 10.0.0.1"),
        (b"x-forwarded-proto", b"https"),  # one entry: too few for 2 hops
    ]

    assert middleware.trusted_values(headers) == {"for": "198.51.100.2"}


def test_a_prefix_without_raw_path_in_the_scope() -> None:
    scope: Any = {"type": "http", "path": "/items", "headers": []}

    done = rewritten(scope, {"prefix": "/api/svc/"})

    assert (done["root_path"], done["path"]) == ("/api/svc", "/api/svc/items")
    assert done["raw_path"] == b"/api/svc/items"


def test_a_websocket_behind_https_is_wss() -> None:
    scope: Any = {"type": "websocket", "scheme": "ws", "headers": []}

    assert rewritten(scope, {"proto": "HTTPS"})["scheme"] == "wss"


async def test_a_prefix_must_be_a_path() -> None:
    app = create_app(blueprints=[*blueprints, seen], TRUSTED_PROXY_HOPS=1)
    async with app.test_app():
        client: Client = app.test_client()
        response = await client.get("/seen", headers={"X-Forwarded-Prefix": "evil"})

    assert (await response.get_json())["external_url"] == "http://localhost/seen"


@pytest.mark.parametrize("hops", [-1, True])
def test_bad_hop_count_names_the_setting(hops: int) -> None:
    with pytest.raises(SettingsError, match="TRUSTED_PROXY_HOPS"):
        create_app(TRUSTED_PROXY_HOPS=hops)


@pytest.fixture
async def client_behind_gateway() -> AsyncIterator[Client]:
    app = create_app(TRUSTED_PROXY_HOPS=1)
    async with app.test_app():
        yield app.test_client()


async def test_request_id_errors_and_access_line_behind_the_gateway(
    client_behind_gateway: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    response = await client_behind_gateway.get(
        "/missing", headers={**FORWARDED, "X-Request-ID": "gw-1"}
    )

    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "gw-1"
    (access,) = [r for r in caplog.records if r.name.endswith(".access")]
    # Logged after proxy handling: the client, not the proxy.
    assert vars(access)["remote_addr"] == "203.0.113.9"
