"""The gateway stack test_gateway.py runs: baked services under `make
serve` on unix sockets, and the requests the tests send through nginx."""

from __future__ import annotations

import http.client
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway import Gateway, fetch, wait_for_socket
from helpers import Reply, Server, access_lines, serving


@dataclass
class Service:
    """A baked service served by `make serve` on a unix socket, which a test
    may stop and start again."""

    slug: str
    project: Path
    venv: Path
    socket: Path
    logs: Path
    settings: dict[str, str] = field(default_factory=dict)
    starts: int = 0
    server: Server | None = None
    _running: ExitStack = field(default_factory=ExitStack)

    def start(self) -> None:
        env = {**os.environ, f"{self.slug.upper()}_TRUSTED_PROXY_HOPS": "1"}
        for key, value in self.settings.items():
            env[f"{self.slug.upper()}_{key}"] = value
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env['PATH']}"
        env.pop("QUART_SETTINGS", None)
        self.starts += 1
        args = ["make", "serve", f"BIND=unix:{self.socket}", f"VENV={self.venv}"]
        log = self.logs / f"{self.slug}-{self.starts}.log"
        self.server = self._running.enter_context(
            serving(args, cwd=self.project, env=env, log=log)
        )
        try:
            wait_for_socket(self.server, self.socket)
        except AssertionError:
            self.stop()
            raise

    def stop(self) -> None:
        self._running.close()

    def output(self) -> str:
        """What the service has logged since it last started."""
        assert self.server is not None
        return self.server.output()

    def access_line(self, request_id: str) -> dict[str, Any]:
        """The access line the service logged for `request_id`."""
        return access_lines(self.output, self.slug, request_id)[0]


@dataclass
class Stack:
    gateway: Gateway
    services: dict[str, Service]
    # A valid bearer token for each service with auth=jwt, which the stack's
    # requests under that service's prefix carry unless they set their own.
    tokens: dict[str, str] = field(default_factory=dict)

    def gateway_log_line(self, request_id: str, timeout: float = 5) -> str:
        """nginx's access line for its $request_id (written after the response)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.gateway.access_log.read_text()
            for line in log.splitlines():
                if line.startswith(f"{request_id} "):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no gateway line for {request_id}:\n{log}")
            time.sleep(0.05)

    def get(self, path: str, request_id: str | None = None) -> Reply:
        headers = {} if request_id is None else {"X-Request-ID": request_id}
        return self.request("GET", path, headers)

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
    ) -> Reply:
        """One request through the gateway, on a connection of its own."""
        for slug, token in self.tokens.items():
            if path.startswith(f"/api/{slug}/"):
                headers = {"Authorization": f"Bearer {token}", **headers}
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.gateway.port, timeout=10
        )
        return fetch(connection, path, method, headers, body)
