"""Requests refused before the app: each a JSON error with a request ID, an
access line, and the connection closed where it can no longer be trusted.

These call the app's ASGI stack directly, with the scopes servers make: the
test client cannot send a malformed request target or HTTP version.
"""

import logging

import pytest
from quart import Blueprint, Quart, request, websocket

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.views import blueprints

from tests.support.asgi_calls import (
    Message,
    call,
    http_scope,
    response_of,
    websocket_scope,
)


def assert_refused(sent: list[Message], status: int, message: str) -> None:
    got, headers, body = response_of(sent)
    assert got == status
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"connection"] == b"close"
    assert headers[b"x-request-id"]
    assert body["status"] == status
    assert message in body["message"]


@pytest.mark.parametrize(
    "path", ["", "?x=1", "example.com:443", "*"], ids=["empty", "query", "host", "*"]
)
async def test_a_target_that_is_not_a_path_is_a_json_400(
    app: Quart, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    sent = await call(app, http_scope(path=path, method="CONNECT"))

    assert_refused(sent, 400, "must be a path")
    (access,) = [r for r in caplog.records if r.name.endswith(".access")]
    assert vars(access)["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("version", ["9.9", "0.9", "2", "3"])
async def test_other_http_versions_are_a_json_505(app: Quart, version: str) -> None:
    sent = await call(app, http_scope(http_version=version))

    assert_refused(sent, 505, f"HTTP/{version} is not served here")


versions = Blueprint("versions", __name__)


@versions.get("/version")
async def http_version() -> dict[str, str]:
    return {"http_version": request.http_version}


@pytest.mark.parametrize(
    ("version", "seen"),
    [("1.0", "1.0"), ("1.1", "1.1"), ("1", "1.0")],
    ids=["1.0", "1.1", "granian-1.0"],
)
async def test_http_1_is_served(version: str, seen: str) -> None:
    """granian names HTTP/1.0 "1" in the scope: the app sees it as ASGI
    spells it, "1.0"."""
    app = create_app(blueprints=[*blueprints, versions])

    sent = await call(app, http_scope(http_version=version, path="/version"))

    assert response_of(sent)[::2] == (200, {"http_version": seen})


async def test_http_2_is_served_when_the_setting_allows_it() -> None:
    app = create_app(HTTP2=True)

    sent = await call(app, http_scope(http_version="2"))

    assert response_of(sent)[::2] == (200, {})


async def test_content_length_with_transfer_encoding_is_a_json_400(
    app: Quart,
) -> None:
    headers = [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]

    sent = await call(app, http_scope(method="POST", headers=headers), b"0\r\n\r\n")

    assert_refused(sent, 400, "must not both be sent")


UPGRADE = [(b"connection", b"Upgrade"), (b"upgrade", b"WebSocket")]


async def test_an_upgrade_reaching_the_app_as_http_is_a_json_404(
    app: Quart,
) -> None:
    """granian, started with --no-ws, hands the upgrade over as HTTP."""
    sent = await call(app, http_scope(headers=UPGRADE))

    assert_refused(sent, 404, "no WebSocket endpoint")


async def test_a_websocket_is_refused_with_a_json_404(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    scope = websocket_scope(headers=[(b"x-request-id", b"ws-1")])

    sent = await call(app, scope)

    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert_refused(sent, 404, "no WebSocket endpoint")
    assert dict(sent[0]["headers"])[b"x-request-id"] == b"ws-1"
    (access,) = [r for r in caplog.records if r.name.endswith(".access")]
    assert access.getMessage() == "GET / 404"
    assert vars(access)["request_id"] == "ws-1"


async def test_without_the_denial_extension_a_websocket_is_closed(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    sent = await call(app, websocket_scope(extensions={}))

    assert [m["type"] for m in sent] == ["websocket.close"]
    (access,) = [r for r in caplog.records if r.name.endswith(".access")]
    assert vars(access)["status"] == 403  # what the server then answers


sockets = Blueprint("sockets", __name__)


@sockets.websocket("/ws")
async def greet() -> None:
    await websocket.send("hello")


async def test_a_service_with_websocket_routes_accepts_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(blueprints=[*blueprints, sockets])

    sent = await call(app, websocket_scope(path="/ws"))
    upgrade = await call(app, http_scope(headers=UPGRADE))

    accept = sent[0]
    assert accept["type"] == "websocket.accept"
    assert len(dict(accept["headers"])[b"x-request-id"]) == 32
    assert [m.get("text") for m in sent if m["type"] == "websocket.send"] == ["hello"]
    access = [r for r in caplog.records if r.name.endswith(".access")]
    statuses = [vars(record)["status"] for record in access]
    assert statuses == [101, 200]  # the upgrade as plain HTTP is the app's
    assert response_of(upgrade)[0] == 200
