"""Hostile and malformed input against `make serve`, on every asgi_server.

What a probe of the baked service as an attacker found (issue: hardening),
each kept fixed here through the real server: requests whose target is not a
path, other HTTP versions, the request smuggling shape, WebSocket upgrades,
HTTP/2 cleartext, malformed JSON bodies, log forging, a body announced and
never sent, OPTIONS, the Server header, HTTP/1.0, redirects that would name
the Host header, repeated headers. Where a server's own parser refuses a
request before the app sees it, the expected answer says "server": a plain
400 from the server, never a 500, and the connection closed.

The service runs with two endpoints more, as a user's would: POST /echo, and
GET /request/ (a path that ends in a slash), which answers what the app saw.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contexts import SERVER_CONTEXTS, SLUGS, python_of
from helpers import Bake, access_lines, free_port, http, json_lines, serving
from raw_http import RawReply, exchange, h2_statuses

Installed = Callable[[str, str], Path]

ECHO_APP = """\
from quart import Blueprint, request

from {slug}.asgi import app

echo = Blueprint("echo", __name__)


@echo.post("/echo")
async def echo_json() -> dict[str, object]:
    return {{"received": await request.get_json()}}


@echo.get("/request/")
async def what_the_app_saw() -> dict[str, object]:
    return {{
        "http_version": request.http_version,
        "authorization": request.headers.getlist("Authorization"),
    }}


app.register_blueprint(echo)
"""


@dataclass
class Target:
    server: str
    slug: str
    port: int
    log: Path

    def send(self, data: bytes, watch: float = 0.5) -> RawReply:
        return exchange(self.port, data, watch=watch)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def json_lines(self) -> list[dict[str, Any]]:
        """The service's log lines (all JSON under make serve)."""
        return list(json_lines(self.output()))

    def access_line(self, request_id: str) -> dict[str, Any]:
        """The one access line for `request_id`."""
        found = access_lines(self.output, self.slug, request_id)
        assert len(found) == 1, self.output()
        return found[0]


@contextmanager
def served_with_echo(
    server: str, bake: Bake, installed: Installed, directory: Path, **env: str
) -> Iterator[Target]:
    context = SERVER_CONTEXTS[server]
    slug = SLUGS[context]
    (directory / "echo_app.py").write_text(ECHO_APP.format(slug=slug))
    venv = installed(context, python_of(context))
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": str(directory), **env}
    environment.pop("QUART_SETTINGS", None)
    args = ["make", "serve", f"BIND=127.0.0.1:{port}", f"VENV={venv}"]
    log = directory / "server.log"
    with serving(
        [*args, "APP=echo_app:app"],
        cwd=bake(context),
        env=environment,
        log=log,
        ready_url=f"http://127.0.0.1:{port}/healthz",
    ):
        yield Target(server, slug, port, log)


@pytest.fixture(scope="module", params=list(SERVER_CONTEXTS))
def target(
    request: pytest.FixtureRequest,
    bake: Bake,
    installed: Installed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Target]:
    directory = tmp_path_factory.mktemp(f"hostile-{request.param}")
    with served_with_echo(request.param, bake, installed, directory) as served:
        yield served


@pytest.fixture(autouse=True)
def no_traceback_or_error_line(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test against the served service: nothing it did made a
    traceback or an ERROR line, in the service's lines or the server's own."""
    if "target" not in request.fixturenames:
        yield
        return
    target: Target = request.getfixturevalue("target")
    before = len(target.log.read_bytes())
    yield
    time.sleep(0.1)  # lines written just after the last response
    new = target.log.read_bytes()[before:].decode(errors="replace")
    assert "Traceback" not in new, new
    assert not [line for line in new.splitlines() if "ERROR" in line], new


def assert_app_refusal(reply: RawReply, status: int, message: str) -> None:
    """The service's own refusal: JSON, with a request ID, connection closed."""
    assert reply.status == status, reply
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-request-id"]
    body = reply.json()
    assert body["status"] == status
    assert message in body["message"]
    assert reply.closed, reply


def assert_server_refusal(reply: RawReply) -> None:
    """The server's parser refused it before the app: a plain 400, closed."""
    assert reply.status == 400, reply
    assert "x-request-id" not in reply.headers
    assert reply.closed, reply


# request -> {server: the app's JSON status, or "server" for the server's 400}
MALFORMED = {
    "empty-target": (
        b"GET ?x=1 HTTP/1.1\r\nHost: svc\r\n\r\n",
        {"hypercorn": 400, "granian": "server", "uvicorn": "server"},
    ),
    "connect": (
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        {"hypercorn": 400, "granian": 400, "uvicorn": "server"},
    ),
    "http-9.9": (
        b"GET / HTTP/9.9\r\nHost: svc\r\n\r\n",
        {"hypercorn": 505, "granian": "server", "uvicorn": "server"},
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_line_is_refused(target: Target, case: str) -> None:
    data, expected = MALFORMED[case]

    reply = target.send(data)

    if expected[target.server] == "server":
        assert_server_refusal(reply)
    else:
        status = expected[target.server]
        assert isinstance(status, int)
        message = "must be a path" if status == 400 else "is not served here"
        assert_app_refusal(reply, status, message)
        assert target.access_line(reply.headers["x-request-id"])["status"] == status


SMUGGLED = (
    b"POST /echo HTTP/1.1\r\nHost: svc\r\nContent-Type: application/json\r\n"
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    b"GET /smuggled HTTP/1.1\r\nHost: svc\r\n\r\n"
)


def test_the_request_smuggling_shape_is_refused_and_closed(target: Target) -> None:
    reply = target.send(SMUGGLED)

    assert reply.status == 400, reply
    assert reply.closed, reply
    assert b"HTTP/1.1" not in reply.rest  # no second response
    assert "/smuggled" not in target.log.read_text()


def test_a_body_announced_and_never_sent_is_not_waited_for(target: Target) -> None:
    """The response's end is held while a body arrives; one that never comes
    holds it BODY_IDLE (0.25 s), not BODY_WAIT (5 s), however long the client
    keeps the connection open (2.5 s here)."""
    reply = target.send(
        b"GET / HTTP/1.1\r\nHost: svc\r\nContent-Length: 10\r\n"
        b"X-Request-ID: idle-1\r\n\r\n",
        watch=2.5,
    )

    assert (reply.status, reply.json()) == (200, {})
    duration = target.access_line("idle-1")["duration_ms"]
    assert isinstance(duration, float)
    assert duration < 1500


def test_options_has_no_html_content_type(target: Target) -> None:
    reply = target.send(b"OPTIONS / HTTP/1.1\r\nHost: svc\r\n\r\n")

    assert reply.status == 204, reply
    assert "content-type" not in reply.headers
    assert "GET" in reply.headers["allow"]


WEBSOCKET_UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: svc\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"X-Request-ID: upgrade-1\r\n\r\n"
)


def test_a_websocket_upgrade_is_refused_the_same_way_everywhere(
    target: Target,
) -> None:
    reply = target.send(WEBSOCKET_UPGRADE)

    assert_app_refusal(reply, 404, "no WebSocket endpoint")
    assert reply.headers["x-request-id"] == "upgrade-1"
    line = target.access_line("upgrade-1")
    assert (line["method"], line["path"], line["status"]) == ("GET", "/", 404)


@pytest.mark.parametrize("upgrade", [False, True], ids=["prior-knowledge", "upgrade"])
def test_http2_cleartext_is_not_served(target: Target, upgrade: bool) -> None:
    """hypercorn speaks HTTP/2 to anyone and cannot be told not to: the app
    refuses each HTTP/2 request (505). granian runs with --http 1; uvicorn
    has no HTTP/2."""
    statuses = h2_statuses(target.port, upgrade=upgrade)

    assert statuses == ([505] if target.server == "hypercorn" else []), statuses


MALFORMED_JSON = {
    "not-utf-8": b'{"name": "\xff\xfe"}',
    "nested-100000-deep": b"[" * 100_000 + b"]" * 100_000,
    "truncated": b'{"name": "a',
}


@pytest.mark.parametrize("body", MALFORMED_JSON.values(), ids=MALFORMED_JSON)
def test_a_malformed_json_body_is_a_json_400(target: Target, body: bytes) -> None:
    reply = target.send(
        b"POST /echo HTTP/1.1\r\nHost: svc\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )

    assert reply.status == 400, reply
    assert reply.json()["error"] == "Bad Request"
    assert reply.headers["x-request-id"]


def test_a_forged_log_line_stays_inside_its_field(target: Target) -> None:
    """`%0A` and the other line breaks (NEL, U+2028) escaped, in JSON too."""
    reply = target.send(
        b"GET /a%0A%7B%22level%22%3A%22forged%22%7D%1B[31m%C2%85%E2%80%A8 HTTP/1.1"
        b"\r\nHost: svc\r\nX-Request-ID: forge-1\r\n\r\n"
    )

    assert reply.status == 404
    line = target.access_line("forge-1")  # every line parses as JSON
    assert line["path"] == '/a\n{"level":"forged"}\x1b[31m\x85\u2028'
    assert not [x for x in target.json_lines() if x.get("level") == "forged"]
    raw = target.log.read_text()
    assert "\x85" not in raw
    assert "\u2028" not in raw


def test_the_server_header(target: Target) -> None:
    """hypercorn and uvicorn send none; granian's cannot be turned off
    (upstream: emmett-framework/granian issue 594) and the gateway drops it
    (test_gateway.py)."""
    reply = http(f"http://127.0.0.1:{target.port}/")

    expected = {"granian": "granian"}.get(target.server)
    assert reply.headers.get("server") == expected


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_http_1_0_and_1_1_are_served(target: Target, version: str) -> None:
    """granian names HTTP/1.0 "1" in the ASGI scope, which the guard once
    refused with a 505: the app sees "1.0" on every server."""
    reply = target.send(f"GET /request/ HTTP/{version}\r\nHost: svc\r\n\r\n".encode())

    assert reply.status == 200, reply
    assert reply.json()["http_version"] == version


def test_a_path_with_double_slashes_is_a_json_404(target: Target) -> None:
    """werkzeug merged the slashes and redirected, in HTML, to the host the
    client named: Location: http://evil.example/docs/assets/..."""
    reply = target.send(
        b"GET /docs//assets/swagger-ui.css HTTP/1.1\r\nHost: evil.example\r\n\r\n"
    )

    assert reply.status == 404, reply
    assert reply.headers["content-type"] == "application/json"
    assert "location" not in reply.headers


def test_a_redirect_is_json_and_names_a_path_only(target: Target) -> None:
    """A route that ends in a slash, asked for without it."""
    reply = target.send(b"GET /request?x=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n")

    assert reply.status == 308, reply
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["location"] == "/request/?x=1"
    assert reply.json()["status"] == 308


def test_repeated_headers_reach_the_app_each_on_its_own(target: Target) -> None:
    """What lets auth.py (auth=jwt) refuse two Authorization headers: no
    server drops one or joins them."""
    reply = target.send(
        b"GET /request/ HTTP/1.1\r\nHost: svc\r\n"
        b"Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"
    )

    assert reply.json()["authorization"] == ["Bearer a", "Bearer b"]


def test_http2_is_served_when_the_setting_asks_for_it(
    bake: Bake, installed: Installed, tmp_path: Path
) -> None:
    """HTTP2: true lets hypercorn's HTTP/2 through (granian would also need
    --http auto in make serve)."""
    env = {f"{SLUGS['default'].upper()}_HTTP2": "true"}

    with served_with_echo("hypercorn", bake, installed, tmp_path, **env) as served:
        assert h2_statuses(served.port) == [200]
