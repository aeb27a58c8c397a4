"""Graceful shutdown, for real, with each asgi_server choice.

The server runs as `make serve` would run it (its command from `make -n
serve`), as the main process: what deploy/systemd and a container's PID 1 do.
A slow request is in flight when SIGTERM arrives, either at the main process
only (a container's PID 1, systemd's KillMode=mixed) or at every process of
the service (Ctrl-C in a terminal), with one process and, for granian, two
workers (hypercorn and uvicorn serve from one process: make serve refuses
more). The request must complete with 200, the app's after_serving hooks must
run in every worker, and the server must exit 0. While it drains, a new
connection is refused or answered at once, and /readyz never answers 200,
not even on a connection kept alive from before; the "draining" line belongs
to no request.

Under load (40 clients posting without pause, half of them on connections
kept alive), the app starts exactly the requests that are answered (one that
fails was never run), a request written before SIGTERM on a connection in use
is answered 201 (on granian, on a new connection too), and the server exits
within seconds. What may fail, with no response: a request written after
SIGTERM onto a kept-alive connection the server is closing (HTTP/1.1's race
between reuse and close), and on hypercorn and uvicorn, which accept on their
event loop, a new connection still in the kernel's queue when they close the
listening socket. SIGTERM while granian's workers load the app stops them as
soon as they are up: none serves (/readyz never 200), none is killed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, RemoteDisconnected
from pathlib import Path

import pytest

from contexts import SERVER_CONTEXTS, SLUGS, python_of
from helpers import Bake, Reply, free_port, http, serve_command, serving, wait_for_text
from slow_app import SLOW_APP

Installed = Callable[[str, str], Path]

# The service with one slow endpoint more, served with the shipped settings.
CASES = [
    (server, workers, target)
    for server in SERVER_CONTEXTS
    for workers in ((1, 2) if server == "granian" else (1,))
    for target in ("main process", "process group")
]


@dataclass
class DrainProbe:
    """What a client saw of the service after SIGTERM."""

    new_connection: str  # "refused", or the /readyz status
    seconds: float  # until the new connection was refused or answered
    kept_alive: str  # "closed", or the /readyz status on the old connection


def probe_the_drain(port: int, kept: HTTPConnection) -> DrainProbe:
    started = time.monotonic()
    connection = HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        connection.request("GET", "/readyz")
        new = str(connection.getresponse().status)
    except ConnectionRefusedError:
        new = "refused"
    except (OSError, HTTPException) as error:  # a hang (timeout), a reset: wrong
        new = f"{type(error).__name__}: {error}"
    finally:
        connection.close()
    seconds = time.monotonic() - started
    try:
        kept.request("GET", "/readyz")
        old = str(kept.getresponse().status)
    except (OSError, HTTPException):
        old = "closed"
    finally:
        kept.close()
    return DrainProbe(new, seconds, old)


@pytest.mark.parametrize(
    ("server", "workers", "target"),
    CASES,
    ids=[f"{s}-{w}-worker{'s' * (w > 1)}-{t.replace(' ', '-')}" for s, w, t in CASES],
)
def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(
    server: str,
    workers: int,
    target: str,
    bake: Bake,
    installed: Installed,
    tmp_path: Path,
) -> None:
    context = SERVER_CONTEXTS[server]
    project = bake(context)
    venv = installed(context, python_of(context))
    (tmp_path / "slow_app.py").write_text(SLOW_APP.format(slug=SLUGS[context]))
    port = free_port()
    command = serve_command(
        project,
        venv,
        BIND=f"127.0.0.1:{port}",
        WORKERS=str(workers),
        APP="slow_app:app",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("QUART_SETTINGS", None)
    base = f"http://127.0.0.1:{port}"
    replies: list[Reply | OSError] = []

    def slow_request() -> None:
        try:
            replies.append(http(f"{base}/slow", timeout=20))
        except OSError as error:
            replies.append(error)

    with serving(
        ["sh", "-c", f"exec {command}"],
        cwd=project,
        env=env,
        log=tmp_path / "server.log",
        ready_url=f"{base}/healthz",
    ) as server_process:
        process = server_process.process
        kept = HTTPConnection("127.0.0.1", port, timeout=3)
        kept.request("GET", "/healthz")
        kept.getresponse().read()  # a keep-alive connection, as a gateway's
        in_flight = threading.Thread(target=slow_request)
        in_flight.start()
        # Let the request reach the app (it sleeps 2 s there), then stop.
        in_flight.join(timeout=0.7)
        if target == "main process":
            os.kill(process.pid, signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGTERM)
        # Once the signal is handled (the request is still in flight):
        wait_for_text(server_process.log, "SIGTERM: draining")
        probe = probe_the_drain(port, kept)
        in_flight.join(timeout=30)
        returncode = process.wait(timeout=30)
        output = server_process.output()

    assert len(replies) == 1
    reply = replies[0]
    assert isinstance(reply, Reply), f"{reply!r}\n{output}"
    assert (reply.status, reply.json()) == (200, {"slept": True}), output
    if server == "uvicorn" and workers == 1:
        # uvicorn alone re-raises SIGTERM once it has shut down gracefully, by
        # design, so the status reports the signal; systemd counts it clean.
        assert returncode in (0, -signal.SIGTERM), output
    else:
        assert returncode == 0, output
    assert output.count('"serving stopped"') == workers, output
    assert probe.new_connection in ("refused", "503"), (probe, output)
    assert probe.seconds < 2, (probe, output)
    assert probe.kept_alive in ("closed", "503"), (probe, output)
    draining = [line for line in output.splitlines() if "SIGTERM: draining" in line]
    assert draining, output
    assert not [line for line in draining if "request_id" in line], output


# One endpoint more: it notes each request it starts in a ledger file (one
# line, one write, appended: whole even from several workers), waits a little,
# so that many requests are in flight at once, and answers 201.
LEDGER_APP = """\
import asyncio
import os

from quart import Blueprint, request

from {slug}.asgi import app

ledger = Blueprint("ledger", __name__)


@ledger.post("/ledger")
async def note() -> tuple[dict[str, str], int]:
    body = await request.get_json()
    with open(os.environ["LEDGER"], "a") as file:
        file.write(body["id"] + "\\n")
    await asyncio.sleep(0.02)
    return {{"id": body["id"]}}, 201


app.register_blueprint(ledger)
"""

CLIENTS = 40
LOAD_CASES = [(server, 2 if server == "granian" else 1) for server in SERVER_CONTEXTS]


@dataclass
class Post:
    """One POST /ledger as its client saw it (times on time.monotonic())."""

    id: str
    reused: bool  # sent on a connection that had carried a request before
    written: float  # once the whole request was written; inf if it never was
    ended: float
    outcome: str  # the status, "refused", "closed" (no response) or an error


def post_until_refused(port: int, client: int, reuse: bool, until: float) -> list[Post]:
    """POST /ledger again and again, on one connection kept alive (`reuse`) or
    a new one each time, until a connection is refused or `until` passes."""
    posts: list[Post] = []
    connection: HTTPConnection | None = None
    reused = False
    while time.monotonic() < until:
        ident = f"{client}-{len(posts)}"
        if connection is None:
            connection, reused = HTTPConnection("127.0.0.1", port, timeout=10), False
        written = float("inf")
        keep = False
        try:
            connection.request(
                "POST",
                "/ledger",
                json.dumps({"id": ident}),
                {"Content-Type": "application/json"},
            )
            written = time.monotonic()
            response = connection.getresponse()
            response.read()
            outcome = str(response.status)
            keep = reuse and outcome == "201" and not response.will_close
        except ConnectionRefusedError:
            outcome = "refused"
        except (RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            outcome = "closed"
        except (OSError, HTTPException) as error:  # a timeout: wrong
            outcome = f"{type(error).__name__}: {error}"
        posts.append(Post(ident, reused, written, time.monotonic(), outcome))
        if outcome == "refused":
            break
        if keep:
            reused = True
        else:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()
    return posts


@pytest.mark.parametrize(
    ("server", "workers"), LOAD_CASES, ids=[s for s, _ in LOAD_CASES]
)
def test_under_load_sigterm_answers_every_request_the_app_starts(
    server: str,
    workers: int,
    bake: Bake,
    installed: Installed,
    tmp_path: Path,
) -> None:
    context = SERVER_CONTEXTS[server]
    project = bake(context)
    venv = installed(context, python_of(context))
    (tmp_path / "ledger_app.py").write_text(LEDGER_APP.format(slug=SLUGS[context]))
    ledger = tmp_path / "ledger.txt"
    ledger.touch()
    port = free_port()
    command = serve_command(
        project,
        venv,
        BIND=f"127.0.0.1:{port}",
        WORKERS=str(workers),
        APP="ledger_app:app",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "LEDGER": str(ledger)}
    env.pop("QUART_SETTINGS", None)
    posts: list[Post] = []

    def client(number: int, until: float) -> None:
        posts.extend(post_until_refused(port, number, number % 2 == 0, until))

    with serving(
        ["sh", "-c", f"exec {command}"],
        cwd=project,
        env=env,
        log=tmp_path / "server.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    ) as server_process:
        # Every granian worker up (the next test is about SIGTERM before that).
        deadline = time.monotonic() + 30
        up = workers if server == "granian" else 0
        while server_process.output().count("Started worker-") < up:
            assert time.monotonic() < deadline, server_process.output()
            time.sleep(0.05)
        until = time.monotonic() + 6  # bounds the load, whatever happens
        clients = [
            threading.Thread(target=client, args=(number, until))
            for number in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        # Under way (100 requests noted by the app), then stop the main process.
        deadline = time.monotonic() + 5
        while len(ledger.read_text().splitlines()) < 100:
            assert time.monotonic() < deadline, server_process.output()
            time.sleep(0.01)
        signalled = time.monotonic()
        os.kill(server_process.process.pid, signal.SIGTERM)
        for thread in clients:
            thread.join(timeout=10)
        # hypercorn took its whole graceful timeout (30 s) here, before the
        # service said Connection: close while draining.
        returncode = server_process.process.wait(timeout=40)
        seconds = time.monotonic() - signalled
        output = server_process.output()

    assert returncode in ((0, -signal.SIGTERM) if server == "uvicorn" else (0,)), output
    assert seconds < 5, output
    before = [post for post in posts if post.written < signalled]
    in_flight = [post for post in before if post.ended > signalled]
    assert len(in_flight) >= 10, (len(in_flight), output)  # the signal met a load
    assert any(post.reused for post in before), output  # and kept-alive connections
    # Sent before SIGTERM on a connection the server had accepted (granian
    # accepts at once, in threads of its own): answered.
    accepted = [post for post in before if post.reused or server == "granian"]
    lost = [post for post in accepted if post.outcome != "201"]
    assert not lost, (lost, output)
    wrong = [post for post in posts if post.outcome not in ("201", "refused", "closed")]
    assert not wrong, (wrong, output)
    # The app started exactly the requests that were answered.
    noted = ledger.read_text().splitlines()
    answered = [post.id for post in posts if post.outcome == "201"]
    assert sorted(noted) == sorted(answered), output
    assert any(post.outcome == "refused" for post in posts), output


def test_sigterm_while_granian_workers_load_stops_them_once_up(
    bake: Bake, installed: Installed, tmp_path: Path
) -> None:
    """granian's workers inherit a SIGTERM handler that ignores the signal until
    they serve: they came up after it, answered /readyz 200 and were killed
    GRACEFUL_TIMEOUT (30 s) later, with what they were serving. (One worker
    or two: the same; two show that each one stops.)"""
    workers = 2
    context = SERVER_CONTEXTS["granian"]
    project = bake(context)
    venv = installed(context, python_of(context))
    port = free_port()
    command = serve_command(
        project, venv, BIND=f"127.0.0.1:{port}", WORKERS=str(workers)
    )
    env = {**os.environ}
    env.pop("QUART_SETTINGS", None)
    statuses: list[int | str] = []

    with serving(
        ["sh", "-c", f"exec {command}"],
        cwd=project,
        env=env,
        log=tmp_path / "server.log",
        ready_pattern=f"Spawning worker-{workers}",  # forked, loading the app
    ) as server_process:
        process = server_process.process
        os.kill(process.pid, signal.SIGTERM)
        signalled = time.monotonic()
        assert "Started worker" not in server_process.output()  # none is up yet
        while process.poll() is None and time.monotonic() < signalled + 40:
            try:
                statuses.append(
                    http(f"http://127.0.0.1:{port}/readyz", timeout=2).status
                )
            except OSError as error:
                statuses.append(type(error).__name__)
            time.sleep(0.05)
        returncode = process.wait(timeout=10)
        seconds = time.monotonic() - signalled
        output = server_process.output()

    assert returncode == 0, output
    assert seconds < 10, output
    assert output.count("Started worker-") == workers, output  # they came up
    assert 200 not in statuses, (statuses, output)
    assert "Killing worker" not in output, output
    assert output.count('"serving stopped"') == workers, output
