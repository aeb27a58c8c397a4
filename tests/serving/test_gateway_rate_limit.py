"""The gateway's rate limit as shipped: a real nginx with the bake's own
deploy/nginx files, unedited, in front of the served default bake.

Each test sends from its own loopback address (127.0.0.2, .3, ...: Linux
routes all of 127/8 to the loopback interface), since nginx counts per client
address. A flood from one address gets JSON 429s in the service's error shape
with Retry-After, whatever X-Forwarded-For it claims, and the service never
sees them; traffic within the rate and its burst, and other addresses, get
none. test_gateway.py raises the limit for its load test.
"""

from __future__ import annotations

import http.client
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from contexts import SLUGS, python_of
from gateway import (
    Gateway,
    Route,
    configure,
    fetch,
    nginx_or_skip,
    running,
    wait_for_socket,
)
from helpers import Bake, Reply, Server, access_lines, serving, venv_env

Installed = Callable[[str, str], Path]

CONTEXT = "default"
SLUG = SLUGS[CONTEXT]
PATH = f"/api/{SLUG}/"


@dataclass
class Limited:
    gateway: Gateway
    service: Server
    rate: float  # requests a second, as the zone ships it
    burst: int  # as the location ships it

    def get(
        self, source: str, request_id: str, forwarded_for: str | None = None
    ) -> Reply:
        """A GET through the gateway from the loopback address `source`."""
        headers = {"X-Request-ID": request_id}
        if forwarded_for is not None:
            headers["X-Forwarded-For"] = forwarded_for
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.gateway.port, timeout=10, source_address=(source, 0)
        )
        return fetch(connection, PATH, headers=headers)

    def service_log(self) -> str:
        """What the service has logged, once a request sent now from another
        address has been logged (the service logs in order)."""
        later = new_id()
        assert self.get("127.0.0.99", later).status == 200
        access_lines(self.service.output, SLUG, later)
        return self.service.output()


def shipped_limit(deploy: Path) -> tuple[float, int]:
    """The zone's rate (requests a second) and the location's burst."""
    zone = (deploy / f"{SLUG}.upstream.conf").read_text()
    location = (deploy / f"{SLUG}.conf").read_text()
    rate = re.search(r"(?m)^limit_req_zone .*\brate=(\d+)r/([sm]);", zone)
    burst = re.search(r"(?m)^\s*limit_req .*\bburst=(\d+)", location)
    assert rate is not None, zone
    assert burst is not None, location
    per_second = int(rate[1]) / (1 if rate[2] == "s" else 60)
    return per_second, int(burst[1])


@pytest.fixture(scope="module")
def limited(
    bake: Bake, installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Limited]:
    nginx = nginx_or_skip()
    project = bake(CONTEXT)
    venv = installed(CONTEXT, python_of(CONTEXT))
    root = tmp_path_factory.mktemp("rate-limit")
    socket = root / "service.sock"
    deploy = project / "deploy" / "nginx"
    env = venv_env(venv, **{f"{SLUG.upper()}_TRUSTED_PROXY_HOPS": "1"})
    serve = ["make", "serve", f"BIND=unix:{socket}", f"VENV={venv}"]
    with serving(serve, cwd=project, env=env, log=root / "service.log") as service:
        wait_for_socket(service, socket)
        gateway = configure(nginx, root / "nginx", [Route(SLUG, deploy, socket)])
        with running(gateway):
            yield Limited(gateway, service, *shipped_limit(deploy))


def new_id() -> str:
    return f"rate-limit-test-{uuid.uuid4()}"


def test_traffic_within_the_rate_and_its_burst_is_never_refused(
    limited: Limited,
) -> None:
    # The burst, all at once (nginx serves the first request and `burst`
    # more without delay), then requests at half the rate for a second.
    at_once = [limited.get("127.0.0.2", new_id()) for _ in range(limited.burst + 1)]
    paced = []
    for _ in range(math.ceil(limited.rate / 2)):
        time.sleep(2 / limited.rate)
        paced.append(limited.get("127.0.0.2", new_id()))

    statuses = [reply.status for reply in at_once + paced]
    assert statuses == [200] * len(statuses)


def test_a_flood_from_one_address_gets_json_429s_with_retry_after(
    limited: Limited,
) -> None:
    sent = 4 * (limited.burst + 1)
    request_ids = [new_id() for _ in range(sent)]

    def send(number: int) -> Reply:
        # Another X-Forwarded-For each time: nginx counts the address it sees.
        forwarded_for = f"198.51.100.{number}"
        return limited.get("127.0.0.3", request_ids[number], forwarded_for)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = dict(zip(request_ids, pool.map(send, range(sent)), strict=True))
    elapsed = time.monotonic() - started
    refused = {rid: reply for rid, reply in replies.items() if reply.status == 429}
    served = [reply for reply in replies.values() if reply.status == 200]

    assert len(refused) + len(served) == sent
    # At most the first request, the burst and what the rate freed meanwhile.
    assert len(served) <= 1 + limited.burst + math.ceil(limited.rate * elapsed)
    assert refused
    for request_id, reply in refused.items():
        # The service's error shape (errors.py), as the gateway's other errors.
        assert reply.headers["content-type"] == "application/json"
        body = reply.json()
        assert body.keys() == {"error", "status", "message"}
        assert (body["error"], body["status"]) == ("Too Many Requests", 429)
        assert SLUG in body["message"]
        assert reply.headers["x-request-id"] == request_id
        assert int(reply.headers["retry-after"]) >= 1
    # Refused by nginx: the service never saw them.
    log = limited.service_log()
    assert [request_id for request_id in refused if request_id in log] == []


def test_the_limited_address_alone_waits_and_retry_after_is_enough(
    limited: Limited,
) -> None:
    for _ in range(10 * (limited.burst + 1)):  # until the burst is spent
        refused = limited.get("127.0.0.4", new_id())
        if refused.status != 200:
            break

    other = limited.get("127.0.0.5", new_id())
    time.sleep(int(refused.headers["retry-after"]))
    again = limited.get("127.0.0.4", new_id())

    assert refused.status == 429
    assert other.status == 200
    assert again.status == 200
