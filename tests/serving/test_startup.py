"""`make serve` starting and holding up, on every asgi_server: the preflight
checks through the real command (a bad setting or a malformed BIND is one
line; WORKERS; a unix socket left by a crash is cleared, a live one is not
taken over), unix socket modes, and a burst of connections opened and closed
without a byte sent.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from contexts import SERVER_CONTEXTS, SLUGS, python_of
from gateway import UnixHTTPConnection, fetch, wait_for_socket
from helpers import Bake, Server, free_port, http, run, serving

Installed = Callable[[str, str], Path]
SERVERS = list(SERVER_CONTEXTS)


def serve_args(venv: Path, bind: str, *extra: str) -> list[str]:
    return ["make", "serve", f"BIND={bind}", f"VENV={venv}", *extra]


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("QUART_SETTINGS", None)
    return env


@contextmanager
def serving_on_socket(
    project: Path, venv: Path, path: Path, log: Path
) -> Iterator[Server]:
    with serving(
        serve_args(venv, f"unix:{path}"), cwd=project, env=environment(), log=log
    ) as server:
        wait_for_socket(server, path)
        yield server


def answers(path: Path) -> bool:
    reply = fetch(UnixHTTPConnection(path, timeout=5), "/healthz")
    return reply.status == 200


@pytest.mark.parametrize("server", SERVERS)
def test_unix_sockets_are_exact_left_and_not_stolen(
    server: str,
    bake: Bake,
    installed: Installed,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """One run per server: the socket's mode; a second start on a live socket
    stops without taking it over; after a SIGKILL, the next start clears the
    socket left behind."""
    context = SERVER_CONTEXTS[server]
    project, venv = bake(context), installed(context, python_of(context))
    directory = tmp_path_factory.mktemp("sock")  # short: sun_path is 108 bytes
    path = directory / "svc.sock"

    with serving_on_socket(project, venv, path, directory / "first.log") as first:
        assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(0o660)
        second = run(serve_args(venv, f"unix:{path}"), project, environment(), 60)
        assert answers(path)  # still the first one's
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait()

    assert second.returncode == 2, second.stdout + second.stderr
    assert f"error: unix:{path}: another server is listening there" in second.stderr
    assert "Traceback" not in second.stderr
    assert stat.S_ISSOCK(path.lstat().st_mode)  # left behind by the SIGKILL
    with serving_on_socket(project, venv, path, directory / "after.log"):
        assert answers(path)
        assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(0o660)


@pytest.mark.parametrize("server", SERVERS)
def test_a_bad_setting_stops_make_serve_with_one_line(
    server: str, bake: Bake, installed: Installed
) -> None:
    context = SERVER_CONTEXTS[server]
    project, venv = bake(context), installed(context, python_of(context))
    variable = f"{SLUGS[context].upper()}_LOG_FORMAT"
    env = environment(**{variable: "xml"})

    result = run(serve_args(venv, f"127.0.0.1:{free_port()}"), project, env, 60)

    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        f"error: setting LOG_FORMAT = 'xml' (environment: {variable}):"
        " input should be 'json' or 'text'"
    ), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("bind", ["127.0.0.1:", "127.0.0.1:65536"])
@pytest.mark.parametrize("server", SERVERS)
def test_a_malformed_bind_stops_make_serve_with_one_line(
    server: str, bind: str, bake: Bake, installed: Installed
) -> None:
    """granian stopped with a usage error of its own on a BIND without a port."""
    context = SERVER_CONTEXTS[server]
    project, venv = bake(context), installed(context, python_of(context))

    result = run(serve_args(venv, bind), project, environment(), 60)

    assert result.returncode != 0
    first, *rest = result.stderr.splitlines()
    assert first.startswith(f"error: BIND={bind}: the port "), result.stderr
    assert not [line for line in rest if not line.startswith("make: ***")], rest


@pytest.mark.parametrize("server", SERVERS)
def test_workers_beyond_one_only_where_the_server_can_drain(
    server: str, bake: Bake, installed: Installed
) -> None:
    """hypercorn's and uvicorn's multi-process modes keep the listening socket
    open while draining: make serve refuses them (granian's is tested in
    test_shutdown.py)."""
    context = SERVER_CONTEXTS[server]
    project, venv = bake(context), installed(context, python_of(context))
    bind = f"127.0.0.1:{free_port()}"
    if server == "granian":
        result = run(serve_args(venv, bind, "WORKERS=0"), project, environment(), 60)
        expected = "error: WORKERS=0: must be a whole number, 1 or more"
    else:
        result = run(serve_args(venv, bind, "WORKERS=2"), project, environment(), 60)
        expected = f"error: WORKERS=2: {server} serves from one process"

    assert result.returncode != 0
    assert result.stderr.startswith(expected), result.stderr


def connect_and_close(port: int, count: int) -> None:
    """`count` TCP connections, each closed without sending a byte."""
    opened = []
    for _ in range(count):
        opened.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    for connection in opened:
        connection.close()


BURST = 1100  # above the usual soft limit of 1024 open files


@pytest.mark.parametrize("server", SERVERS)
def test_a_burst_of_empty_connections_does_not_lock_the_service_out(
    server: str, bake: Bake, installed: Installed, tmp_path: Path
) -> None:
    """Under the usual soft limit of 1024 open files. hypercorn holds each
    such connection for its keep-alive timeout (its bug); the service raises
    its soft limit to the hard one, so the files do not run out."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < BURST + 100:
        pytest.skip(f"the hard limit on open files here ({hard}) is below the burst")
    context = SERVER_CONTEXTS[server]
    project, venv = bake(context), installed(context, python_of(context))
    port = free_port()
    command = " ".join(serve_args(venv, f"127.0.0.1:{port}"))
    base = f"http://127.0.0.1:{port}"

    with (
        room_for_the_burst(soft, hard),
        serving(
            ["sh", "-c", f"ulimit -Sn 1024 && exec {command}"],
            cwd=project,
            env=environment(),
            log=tmp_path / "server.log",
            ready_url=f"{base}/healthz",
        ),
    ):
        connect_and_close(port, BURST)
        started = time.monotonic()
        reply = http(f"{base}/healthz", timeout=2)
        took = time.monotonic() - started

    assert reply.json() == {"status": "ok"}
    assert took < 2


@contextmanager
def room_for_the_burst(soft: int, hard: int) -> Iterator[None]:
    """This process opens the burst's connections: room for them here too."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
