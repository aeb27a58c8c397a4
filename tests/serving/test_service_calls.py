"""A secured call between two baked services, end to end.

A token dealer (token_dealer.py) issues signed JWTs. Service A, a bake with
auth=jwt, runs behind the real nginx gateway and verifies tokens against the
dealer's key set. Service B, a second instance of that bake with one endpoint
added the way a user adds one, calls A through the gateway with the app's
outgoing client, which fetches B's token from the dealer (client credentials)
and forwards the request ID. When the dealer rotates its key, A refuses B's
cached token and B recovers by fetching a new one.

Both instances keep the dealer's key set for KEY_SET_SECONDS and may fetch it
again at once for a key they do not hold, so that a rotation shows within
the test's time rather than the production defaults' minutes.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contexts import AUTH_CONTEXTS, SLUGS, python_of
from gateway import Gateway, Route, configure, nginx_or_skip, running, wait_for_socket
from helpers import Bake, Server, access_lines, check, free_port, serving, venv_env
from token_dealer import TokenDealer, dealing

Installed = Callable[[str, str], Path]

CONTEXT = AUTH_CONTEXTS["jwt"]
SLUG = SLUGS[CONTEXT]
AUDIENCE = "quart-services"
# Seconds the services keep the dealer's key set: short, so that a rotation
# shows soon; and the least time between two fetches of it.
KEY_SET_SECONDS = 1
REFETCH_SECONDS = 0.1

# Service B: the bake's app with one more endpoint, which calls service A.
RELAY = '''"""Service B: the service, plus an endpoint that calls service A."""

import os

from quart import Blueprint

from {slug}.asgi import app
from {slug}.core.service_calls.client import service_client

relay = Blueprint("relay", __name__)


@relay.get("/relay")
async def call_a() -> dict[str, object]:
    response = await service_client().get(os.environ["SERVICE_A_URL"])
    return {{"status": response.status_code, "body": response.json()}}


app.register_blueprint(relay)
'''


@dataclass
class Services:
    dealer: TokenDealer
    gateway: Gateway
    a: Server
    b: Server
    b_url: str

    def call_a(self, path: str, token: str | None = None) -> tuple[int, Any]:
        """A request to A through the gateway, with `token` if given."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.gateway.port, timeout=10
        )
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        try:
            connection.request("GET", f"/api/{SLUG}{path}", headers=headers)
            response = connection.getresponse()
            return response.status, (
                response.getheader("WWW-Authenticate"),
                json.loads(response.read()),
            )
        finally:
            connection.close()

    def call_b(self, request_id: str) -> tuple[int, dict[str, Any]]:
        """GET B's /relay as an outside caller with a token of its own."""
        token = self.dealer.token_for("caller")
        connection = http.client.HTTPConnection(
            "127.0.0.1", int(self.b_url.rsplit(":", 1)[1]), timeout=20
        )
        try:
            headers = {"Authorization": f"Bearer {token}", "X-Request-ID": request_id}
            connection.request("GET", "/relay", headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()


def settings(dealer: TokenDealer, database: Path, **more: str) -> dict[str, str]:
    """The environment that configures one instance of the bake."""
    values = {
        "JWT_JWKS_URL": dealer.jwks_url,
        "JWT_ISSUER": dealer.issuer,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_JWKS_CACHE_SECONDS": str(KEY_SET_SECONDS),
        "JWT_JWKS_REFETCH_SECONDS": str(REFETCH_SECONDS),
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        **more,
    }
    return {f"{SLUG.upper()}_{name}": value for name, value in values.items()}


@pytest.fixture(scope="module")
def services(
    bake: Bake, installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    nginx = nginx_or_skip()
    project = bake(CONTEXT)
    venv = installed(CONTEXT, python_of(CONTEXT))
    root = tmp_path_factory.mktemp("service-calls")
    dealer = TokenDealer(
        audience=AUDIENCE,
        clients={
            "service-b": ("b-secret", "items:read"),
            "caller": ("caller-secret", ""),
        },
    )
    with ExitStack() as running_now:
        running_now.enter_context(dealing(dealer))
        database = root / "a.sqlite3"
        a_env = venv_env(venv, **settings(dealer, database, TRUSTED_PROXY_HOPS="1"))
        check(["make", "migrate", f"VENV={venv}"], cwd=project, env=a_env)
        socket = root / "a.sock"
        a = running_now.enter_context(
            serving(
                ["make", "serve", f"BIND=unix:{socket}", f"VENV={venv}"],
                cwd=project,
                env=a_env,
                log=root / "a.log",
            )
        )
        wait_for_socket(a, socket)
        gateway = configure(
            nginx, root / "nginx", [Route(SLUG, project / "deploy" / "nginx", socket)]
        )
        running_now.enter_context(running(gateway))

        (root / "relay.py").write_text(RELAY.format(slug=SLUG))
        port = free_port()
        b_env = venv_env(
            venv,
            PYTHONPATH=str(root),
            SERVICE_A_URL=f"{gateway.url}/api/{SLUG}/items?limit=1",
            **settings(
                dealer,
                root / "b.sqlite3",
                TOKEN_URL=dealer.token_url,
                CLIENT_ID="service-b",
                CLIENT_SECRET="b-secret",
            ),
        )
        bind = f"BIND=127.0.0.1:{port}"
        b = running_now.enter_context(
            serving(
                ["make", "serve", bind, "APP=relay:app", f"VENV={venv}"],
                cwd=project,
                env=b_env,
                log=root / "b.log",
                ready_url=f"http://127.0.0.1:{port}/healthz",
            )
        )
        yield Services(dealer, gateway, a, b, f"http://127.0.0.1:{port}")


def statuses(server: Server, request_id: str, count: int = 1) -> list[int]:
    """The statuses of the access lines `server` logged for `request_id`, once
    there are `count` (or 5 s have passed): a line is written after its
    response is sent, so the caller may see the answer first."""
    deadline = time.monotonic() + 5
    while True:
        lines = access_lines(server.output, SLUG, request_id)
        if len(lines) >= count or time.monotonic() > deadline:
            return [line["status"] for line in lines]
        time.sleep(0.05)


def new_id() -> str:
    return f"call-{uuid.uuid4()}"


def test_b_calls_a_through_the_gateway_with_a_token(services: Services) -> None:
    first, second = new_id(), new_id()

    assert services.call_b(first) == (
        200,
        {"status": 200, "body": {"items": [], "next": None}},
    )
    assert services.call_b(second)[0] == 200

    for request_id in (first, second):
        # Both services logged the call under the caller's request ID.
        assert statuses(services.b, request_id) == [200]
        assert statuses(services.a, request_id) == [200]
    # One token served both calls: B keeps it until shortly before it expires.
    assert services.dealer.issued.count("service-b") == 1


def test_a_refuses_the_old_token_after_a_rotation_and_b_recovers(
    services: Services,
) -> None:
    services.call_b(new_id())  # B holds a token from the current key
    issued = services.dealer.issued.count("service-b")
    services.dealer.rotate()
    time.sleep(KEY_SET_SECONDS + 0.5)  # the services' copies of the set expire
    # A learns of the new key from the first token signed with it, as it
    # would from any other caller's; from then on it holds only that key.
    new_token = services.dealer.token_for("caller")
    assert services.call_a("/", new_token)[0] == 200
    request_id = new_id()

    status, body = services.call_b(request_id)

    assert (status, body["status"]) == (200, 200)
    # A refused the token signed with the retired key; B fetched a new one
    # and retried once, with the same request ID.
    assert statuses(services.a, request_id, count=2) == [401, 200]
    assert services.dealer.issued.count("service-b") == issued + 1


def test_a_refuses_a_call_without_a_token_through_the_gateway(
    services: Services,
) -> None:
    status, (challenge, body) = services.call_a("/items")

    assert status == 401
    assert challenge.startswith("Bearer realm=")
    assert body["status"] == 401
