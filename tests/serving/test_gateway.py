"""Two baked services behind a real nginx, wired with their own deploy files.

The deployment the template is for: one nginx gateway, each service on its own
unix socket (`make serve BIND=unix:...`) trusting one proxy hop, routed by
path: /api/my_service/ and /api/zurich_payments_api/ (hypercorn; the second
with auth=jwt, so the stack's requests to it carry a token), and
/api/order_events/ (granian). nginx and the services start once for the
module. test_deploy_files.py checks the same files without serving.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from contexts import SERVER_CONTEXTS, SLUGS, answer, python_of
from gateway import (
    LOAD_TEST_LIMIT,
    Route,
    burst,
    configure,
    nginx_or_skip,
    running,
)
from gateway_stack import Service, Stack
from helpers import Bake, Reply, check
from token_dealer import ISSUER, SigningKey, jwt_settings

Installed = Callable[[str, str], Path]

# Two bakes with different slugs (both hypercorn); the second gets stopped.
# A third on granian, whose Server header the gateway must not pass on.
FRONT, BACK, GRANIAN = "default", "proprietary-awkward", SERVER_CONTEXTS["granian"]
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@pytest.fixture(scope="module")
def stack(
    bake: Bake, installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    nginx = nginx_or_skip()
    root = tmp_path_factory.mktemp("gateway")
    key = SigningKey()
    tokens = {}
    services = {
        SLUGS[context]: Service(
            slug=SLUGS[context],
            project=bake(context),
            venv=installed(context, python_of(context)),
            socket=root / f"{SLUGS[context]}.sock",
            logs=root,
            settings=jwt_settings(key, SLUGS[context])
            if answer(context, "auth") == "jwt"
            else {},
        )
        for context in (FRONT, BACK, GRANIAN)
    }
    for slug, service in services.items():
        if service.settings:
            tokens[slug] = key.sign(
                {
                    "iss": ISSUER,
                    "aud": slug,
                    "sub": "gateway-test",
                    "scope": "items:read items:write",
                    "exp": int(time.time()) + 3600,
                }
            )
    # Every request here comes from 127.0.0.1, and the burst test's 64
    # connections are far over the shipped rate limit of one address: the
    # stack's copies raise it, as an operator would edit the files for a load
    # test. test_gateway_rate_limit.py puts the shipped values to work.
    routes = [
        Route(
            service.slug,
            service.project / "deploy" / "nginx",
            service.socket,
            rate_limit=LOAD_TEST_LIMIT,
        )
        for service in services.values()
    ]
    gateway = configure(nginx, root / "nginx", routes)
    with ExitStack() as cleanup:
        for service in services.values():
            cleanup.callback(service.stop)
            service.start()
        cleanup.enter_context(running(gateway))
        yield Stack(gateway, services, tokens)


def assert_json_error(reply: Reply, status: int, name: str) -> dict[str, Any]:
    """The error shape the service and the gateway share."""
    assert reply.status == status, reply
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body.keys() == {"error", "status", "message"}
    assert (body["error"], body["status"]) == (name, status)
    assert isinstance(body["message"], str)
    assert body["message"]
    return dict(body)


def new_id() -> str:
    return f"gateway-test-{uuid.uuid4()}"


def test_nginx_accepts_the_generated_config(stack: Stack) -> None:
    result = stack.gateway.test_config()

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_sockets_are_for_the_owner_and_the_gateways_group(stack: Stack) -> None:
    # The gateway reaches the socket through the group it shares with the
    # service (deploy/systemd); others cannot. (test_startup.py checks every server's.)
    for service in stack.services.values():
        assert oct(service.socket.stat().st_mode & 0o7777) == oct(0o660)


ALL_SLUGS = [SLUGS[FRONT], SLUGS[BACK], SLUGS[GRANIAN]]


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_no_server_names_itself_through_the_gateway(stack: Stack, slug: str) -> None:
    """granian sends `server: granian` and cannot be told not to (upstream:
    emmett-framework/granian issue 594): nginx does not pass it on."""
    reply = stack.get(f"/api/{slug}/")

    assert reply.status == 200
    server = reply.headers.get("server", "")
    assert not re.search("granian|hypercorn|uvicorn", server, re.I), server


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_each_route_reaches_its_own_service(stack: Stack, slug: str) -> None:
    request_id = new_id()

    reply = stack.get(f"/api/{slug}/", request_id)

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {}
    assert stack.services[slug].access_line(request_id)["status"] == 200


def test_the_prefix_is_stripped_before_the_service(stack: Stack) -> None:
    health = stack.get("/api/my_service/healthz")
    missing = stack.get("/api/my_service/no/such/thing")

    assert (health.status, health.json()) == (200, {"status": "ok"})
    assert_json_error(missing, 404, "Not Found")
    # The service's own 404, not nginx's: the service logged it.
    line = stack.services["my_service"].access_line(missing.headers["x-request-id"])
    assert line["status"] == 404


def test_the_docs_page_works_under_the_gateways_prefix(stack: Stack) -> None:
    """/docs asks for its assets by relative URL and for the document by the
    prefixed one, so the page works at /api/<slug>/docs as at /docs."""
    page = stack.get("/api/my_service/docs")
    text = page.body.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', text)

    assert page.status == 200
    assert 'url: "/api/my_service/openapi.json"' in text
    assert sorted(assets) == [
        "docs/assets/swagger-ui-bundle.js",
        "docs/assets/swagger-ui.css",
    ]
    for asset in assets:
        assert stack.get(f"/api/my_service/{asset}").status == 200
    document = stack.get("/api/my_service/openapi.json")
    assert document.json()["openapi"].startswith("3.1.")


def test_a_created_items_location_is_under_the_gateways_prefix(
    stack: Stack,
) -> None:
    """Location is built for the client: behind the gateway, the public path
    (the X-Forwarded-Prefix the gateway sets), which leads back to the item."""
    service = stack.services["my_service"]
    check(["make", "migrate", f"VENV={service.venv}"], cwd=service.project)
    body = json.dumps({"name": new_id()}).encode()
    headers = {"Content-Type": "application/json"}

    created = stack.request("POST", "/api/my_service/items", headers, body)

    assert created.status == 201, created
    item = created.json()
    assert created.headers["location"] == f"/api/my_service/items/{item['id']}"
    assert stack.get(created.headers["location"]).json() == item


def test_the_route_without_its_slash_is_redirected_to_it(stack: Stack) -> None:
    reply = stack.get("/api/my_service")

    assert reply.status == 301
    assert reply.headers["location"].endswith("/api/my_service/")


@pytest.mark.parametrize("forwarded_for", [None, "6.6.6.6"], ids=["plain", "spoofed"])
def test_the_service_sees_the_client_address(
    stack: Stack, forwarded_for: str | None
) -> None:
    request_id = new_id()
    headers = {"X-Request-ID": request_id}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for

    stack.request("GET", "/api/my_service/", headers)

    line = stack.services["my_service"].access_line(request_id)
    assert line["remote_addr"] == "127.0.0.1"
    assert {"method", "path", "status", "duration_ms"} <= line.keys()


def test_a_callers_request_id_goes_through_both_ways(stack: Stack) -> None:
    request_id = new_id()

    reply = stack.get("/api/my_service/", request_id)

    assert reply.headers["x-request-id"] == request_id
    line = stack.services["my_service"].access_line(request_id)
    assert (line["method"], line["status"]) == ("GET", 200)


@pytest.mark.parametrize("sent", [None, "not a sane id!"], ids=["absent", "insane"])
def test_without_a_usable_request_id_the_gateways_is_used(
    stack: Stack, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}

    reply = stack.request("GET", "/api/my_service/", headers)

    given = reply.headers["x-request-id"]
    assert given != sent
    # The one ID in both logs: the gateway's $request_id, used by the service.
    assert stack.gateway_log_line(given).endswith('200 "GET /api/my_service/ HTTP/1.1"')
    stack.services["my_service"].access_line(given)


def test_a_stopped_service_is_a_json_502_while_the_other_answers(
    stack: Stack,
) -> None:
    back = stack.services[SLUGS[BACK]]
    back.stop()
    try:
        down = stack.get(f"/api/{back.slug}/")
        other = stack.get("/api/my_service/")
    finally:
        back.start()
    again = stack.get(f"/api/{back.slug}/")

    body = assert_json_error(down, 502, "Bad Gateway")
    assert back.slug in body["message"]
    assert SANE_ID.fullmatch(down.headers["x-request-id"])
    assert other.status == 200
    assert again.status == 200  # nginx reconnects once the service is back


LIMIT = 1048576  # MAX_CONTENT_LENGTH in settings.yml, and the snippet's 1m


def test_a_body_over_the_limit_is_refused_by_nginx_as_json(stack: Stack) -> None:
    refused, later = new_id(), new_id()
    service = stack.services["my_service"]

    reply = stack.request(
        "POST", "/api/my_service/", {"X-Request-ID": refused}, b"x" * 2 * LIMIT
    )

    assert_json_error(reply, 413, "Request Entity Too Large")
    assert reply.headers["x-request-id"] == refused
    # nginx's answer: the service, which logs in order, never saw the request.
    stack.get("/api/my_service/", later)
    service.access_line(later)
    assert refused not in service.output()


def test_metrics_are_not_served_through_the_gateway(stack: Stack) -> None:
    hidden, later = new_id(), new_id()
    service = stack.services["my_service"]

    for path in ("/api/my_service/metrics", "/api/my_service//metrics?x=1"):
        reply = stack.request("GET", path, {"X-Request-ID": hidden}, b"")

        assert_json_error(reply, 404, "Not Found")
        assert reply.headers["x-request-id"] == hidden
    stack.get("/api/my_service/", later)
    service.access_line(later)
    assert hidden not in service.output()


def test_a_body_at_the_limit_gets_the_services_own_answer(stack: Stack) -> None:
    # The route is GET-only, so the service answers 405 without reading the
    # body. Whether the gateway then relays that 405 or turns it into a 502
    # (the service closed while nginx was still sending) is a race: try often.
    replies = [
        stack.request("POST", "/api/my_service/", {}, b"x" * LIMIT) for _ in range(20)
    ]

    assert Counter(reply.status for reply in replies) == {405: 20}
    assert_json_error(replies[0], 405, "Method Not Allowed")


def test_a_burst_through_the_gateway_has_no_errors(stack: Stack) -> None:
    result = burst(f"{stack.gateway.url}/api/my_service/", connections=64, seconds=3)

    assert result.requests > 0, result.output
    assert result.non_2xx_3xx == 0, result.output
    assert result.socket_errors == 0, result.output
