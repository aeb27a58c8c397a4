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
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException
from pathlib import Path

import pytest

from contexts import SERVER_CONTEXTS, SLUGS, python_of
from helpers import Bake, Reply, free_port, http, serve_command, serving, wait_for_text

Installed = Callable[[str, str], Path]

# The service with one slow endpoint more, served with the shipped settings.
SLOW_APP = """\
import asyncio

from quart import Blueprint

from {slug}.asgi import app

slow = Blueprint("slow", __name__)


@slow.get("/slow")
async def sleep() -> dict[str, bool]:
    await asyncio.sleep(2)
    return {{"slept": True}}


app.register_blueprint(slow)
"""

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
