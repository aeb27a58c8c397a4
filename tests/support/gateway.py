"""A real nginx gateway in front of baked services, run by the suite.

The gateway is what the template's deploy/nginx files are for: one nginx,
each service on its own unix socket, routed by path. Here nginx runs in the
foreground as a child of the test, with its own prefix directory, config,
logs and temp paths under a temporary directory, and each bake's two nginx
files copied in with the socket path pointed at the test's socket (and, for
a load test from one address, the rate limit raised: Route.rate_limit).
"""

from __future__ import annotations

import grp
import http.client
import os
import pwd
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import TEMPLATE_DIR, Reply, Server, check, free_port, run, serving

NGINX = "/usr/sbin/nginx"  # Debian's nginx-light: `make system-packages`
UNIX_PATH_MAX = 107  # sun_path holds 108 bytes, the last one a NUL


def nginx_or_skip() -> Path:
    """nginx, installed by `make system-packages` if it is missing; skip only
    when it cannot be installed."""
    found = shutil.which("nginx") or shutil.which(NGINX)
    if found is None:
        result = run(["make", "system-packages"], cwd=TEMPLATE_DIR, timeout=600)
        found = shutil.which("nginx") or shutil.which(NGINX)
        if found is None:
            pytest.skip(
                "nginx is not installed and `make system-packages` could not"
                f" install it (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
    return Path(found)


@dataclass(frozen=True)
class RateLimit:
    """A gateway rate limit other than the one the deploy files ship: the
    zone's `rate` (nginx's "10r/s") and the location's `burst`."""

    rate: str
    burst: int


# For a test that loads a route from one address (127.0.0.1) on purpose, such
# as test_gateway.py's burst of 64 connections: far above what it sends, and a
# burst above the requests nginx may see in one millisecond (its clock's
# step, within which nothing of the rate is freed).
LOAD_TEST_LIMIT = RateLimit(rate="100000r/s", burst=10000)


@dataclass(frozen=True)
class Route:
    """One service behind the gateway: its bake's deploy/nginx files, and the
    unix socket it listens on in the test. `rate_limit`, when given, replaces
    the shipped rate and burst in the copies, as an operator would edit them."""

    slug: str
    deploy: Path
    socket: Path
    rate_limit: RateLimit | None = None

    @property
    def deployed_socket(self) -> str:
        """The path the deploy files name: systemd's RuntimeDirectory."""
        return f"/run/{self.slug}/{self.slug}.sock"

    @property
    def files(self) -> tuple[str, str]:
        """The http{} part and the server{} part."""
        return f"{self.slug}.upstream.conf", f"{self.slug}.conf"


def copy_route(route: Route, conf_dir: Path) -> tuple[Path, Path]:
    """Copy a bake's two nginx files into conf_dir, the socket path rewritten.

    The deploy files must name the socket exactly once, so that this rewrite
    (and an operator's edit) cannot miss a copy of it.
    """
    assert len(os.fsencode(route.socket)) <= UNIX_PATH_MAX, route.socket
    texts = {name: (route.deploy / name).read_text() for name in route.files}
    named = sum(text.count(route.deployed_socket) for text in texts.values())
    assert named == 1, (
        f"{route.deployed_socket} appears {named} times in {route.deploy}, not once"
    )
    if route.rate_limit is not None:
        upstream, location = route.files
        texts[upstream] = edit_directive(
            texts[upstream], "limit_req_zone", "rate", route.rate_limit.rate
        )
        texts[location] = edit_directive(
            texts[location], "limit_req", "burst", str(route.rate_limit.burst)
        )
    copies = []
    for name, text in texts.items():
        copy = conf_dir / name
        copy.write_text(text.replace(route.deployed_socket, str(route.socket)))
        copies.append(copy)
    return copies[0], copies[1]


def edit_directive(text: str, directive: str, parameter: str, value: str) -> str:
    """`text` with the `parameter=` of its one `directive` line set to `value`."""
    pattern = rf"(?m)^(\s*{directive}\s[^;#]*\b{parameter}=)[^\s;]+"
    edited, count = re.subn(pattern, lambda match: match[1] + value, text)
    assert count == 1, f"{count} {directive} lines with {parameter}= in:\n{text}"
    return edited


@dataclass(frozen=True)
class Gateway:
    nginx: Path
    prefix: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    @property
    def access_log(self) -> Path:
        """One line a request: nginx's $request_id, the status, the request."""
        return self.prefix / "access.log"

    def command(self, *extra: str) -> list[str]:
        # -e: the error log before the config is read, which would otherwise
        # be the system's /var/log/nginx/error.log.
        return [
            *(str(self.nginx), "-p", f"{self.prefix}/", "-c", str(self.config)),
            *("-e", str(self.error_log), *extra),
        ]

    def test_config(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t`: its exit status and what it says (on stderr)."""
        return run(self.command("-t"), cwd=self.prefix, timeout=30)


def configure(nginx: Path, prefix: Path, routes: Sequence[Route]) -> Gateway:
    """Write a gateway config for `routes` in `prefix`, a new directory."""
    prefix.mkdir(parents=True)
    conf_dir = prefix / "services"
    conf_dir.mkdir()
    gateway = Gateway(nginx, prefix, free_port())
    copies = [copy_route(route, conf_dir) for route in routes]
    http_lines = [
        "log_format gateway '$request_id $status \"$request\"';",
        f"access_log {gateway.access_log} gateway;",
        *(
            f"{kind}_temp_path {prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        *(f"include {upstream};" for upstream, _ in copies),
    ]
    server_lines = [
        f"listen 127.0.0.1:{gateway.port};",
        *(f"include {snippet};" for _, snippet in copies),
    ]
    gateway.config.write_text(
        f"""daemon off;
master_process on;
worker_processes 1;
{worker_user()}pid {prefix / "nginx.pid"};
error_log {gateway.error_log} info;

events {{
    worker_connections 1024;
}}

http {{
{indent(http_lines, 4)}
    server {{
{indent(server_lines, 8)}
    }}
}}
"""
    )
    return gateway


def indent(lines: Sequence[str], spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in lines)


def worker_user() -> str:
    """Started as root, nginx's workers would switch to `nobody`, who cannot
    reach the sockets in the test's private temporary directory."""
    if os.geteuid() != 0:
        return ""
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"


@contextmanager
def running(gateway: Gateway) -> Iterator[Server]:
    """nginx in the foreground until the block ends (SIGTERM, then SIGKILL)."""
    with serving(
        gateway.command(),
        cwd=gateway.prefix,
        env=os.environ,
        log=gateway.prefix / "nginx.out",
        ready_url=f"{gateway.url}/",
        timeout=30,
    ) as server:
        yield server


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket: how the gateway talks to a service."""

    def __init__(self, socket_path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.socket_path))


def fetch(
    connection: http.client.HTTPConnection,
    path: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """One request on `connection`, closed afterwards; header names lowercased."""
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Reply(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def wait_for_socket(server: Server, path: Path, timeout: float = 60) -> None:
    """Wait until the server answers HTTP on its unix socket, or fail with its
    output if it exits or takes longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fetch(UnixHTTPConnection(path, timeout=2), "/healthz")
            return
        except (OSError, http.client.HTTPException):
            pass
        if server.process.poll() is not None:
            raise AssertionError(
                f"the server on {path} exited {server.process.returncode}:\n"
                f"{server.output()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing answers on {path}:\n{server.output()}")
        time.sleep(0.1)


@dataclass
class Burst:
    requests: int
    non_2xx_3xx: int
    socket_errors: int
    output: str


def wrk_burst(url: str, connections: int, seconds: int) -> Burst:
    """wrk's figures for a burst of `connections` keep-alive connections."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    command = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    out = check(command, cwd=Path.cwd(), timeout=seconds + 30)
    total = re.search(r"(\d+) requests in ", out)
    assert total is not None, f"no request count in wrk's output:\n{out}"
    # wrk prints these two lines only when a count is not zero; its socket
    # errors are connect, read, write and timeout.
    errors = re.search(r"Socket errors: (.*)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Burst(
        requests=int(total[1]),
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(map(int, re.findall(r"\d+", errors[1]))) if errors else 0,
        output=out,
    )


def python_burst(url: str, connections: int, seconds: int) -> Burst:
    """The same burst without wrk: one keep-alive http.client connection per
    thread, requesting until the time is up. Counted as wrk counts."""
    match = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)", url)
    assert match is not None, url
    host, port, path = match[1], int(match[2]), match[3]
    deadline = time.monotonic() + seconds
    statuses: list[int | None] = []  # None: a socket error

    def client() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        while time.monotonic() < deadline:
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)  # list.append is thread-safe
            except (OSError, http.client.HTTPException):
                connection.close()
                statuses.append(None)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = [status for status in statuses if status is not None]
    return Burst(
        requests=len(answered),
        non_2xx_3xx=sum(status > 399 for status in answered),
        socket_errors=len(statuses) - len(answered),
        output=f"{len(statuses)} requests from {connections} Python threads",
    )


def burst(url: str, connections: int = 64, seconds: int = 3) -> Burst:
    """A bounded burst against `url`: wrk when installed, else Python threads."""
    if shutil.which("wrk"):
        return wrk_burst(url, connections, seconds)
    return python_burst(url, connections, seconds)
