"""A blocked log output, for real, with each asgi_server choice.

The server's stdout and stderr are a pipe that nobody reads, as a stalled
journald or a full container log pipe would be. Once the pipe is full, the
service must go on answering requests (its lines wait in memory, written by
a thread of their own); on SIGTERM it must exit once the pipe is read again,
having written every access line of every request it answered.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import termios
import threading
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path

import pytest

from contexts import SERVER_CONTEXTS, SLUGS, python_of
from helpers import Bake, free_port, http, json_lines, serve_command, stop

Installed = Callable[[str, str], Path]

# More access lines than a pipe holds (64 KiB, about 250 lines).
REQUESTS = 600


def unread_bytes(read_end: int) -> int:
    available = bytearray(4)
    fcntl.ioctl(read_end, termios.FIONREAD, available)
    return int.from_bytes(available, "little")


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(900):
        if process.poll() is not None:
            raise AssertionError(f"the server exited {process.returncode}")
        try:
            http(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except OSError:
            threading.Event().wait(0.1)
    raise AssertionError("the server did not start")


@pytest.mark.parametrize("server", SERVER_CONTEXTS)
def test_a_blocked_log_output_stalls_no_request_and_loses_no_line(
    server: str, bake: Bake, installed: Installed
) -> None:
    context = SERVER_CONTEXTS[server]
    project = bake(context)
    venv = installed(context, python_of(context))
    slug = SLUGS[context]
    port = free_port()
    command = serve_command(project, venv, BIND=f"127.0.0.1:{port}", WORKERS="1")
    env = {**os.environ}
    env.pop("QUART_SETTINGS", None)
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        ["sh", "-c", f"exec {command}"],
        cwd=project,
        env=env,
        stdout=write_end,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(write_end)
    output = bytearray()
    reader = threading.Thread(target=read_all, args=(read_end, output))
    try:
        wait_until_serving(port, process)
        connection = HTTPConnection("127.0.0.1", port, timeout=5)
        for number in range(REQUESTS):
            headers = {"X-Request-ID": f"blocked-{number}"}
            connection.request("GET", "/", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        connection.close()
        # Every request was answered while the pipe stayed full: its 64 KiB
        # hold under half the access lines, and a pipe full of writes of up
        # to PIPE_BUF (each kept whole in its pages) holds 45 KiB or more.
        assert unread_bytes(read_end) >= 32 * 1024
        assert process.poll() is None

        process.send_signal(signal.SIGTERM)
        reader.start()  # the output moves again: the server may finish
        returncode = process.wait(timeout=60)
        reader.join(timeout=30)
    finally:
        stop(process)
        if not reader.is_alive():
            os.close(read_end)
    text = output.decode(errors="replace")

    assert returncode in (0, -signal.SIGTERM), text  # uvicorn re-raises SIGTERM
    answered = {
        line["request_id"]
        for line in json_lines(text)
        if line.get("logger") == f"{slug}.access"
        and line.get("request_id", "").startswith("blocked-")
    }
    missing = {f"blocked-{number}" for number in range(REQUESTS)} - answered
    not_json = [line for line in text.splitlines() if line.startswith("{")]
    not_json = [line for line in not_json if not list(json_lines(line))]
    assert not missing, (sorted(missing), not_json, text[-2000:])
    assert '"serving stopped"' in text, text[-3000:]


def read_all(read_end: int, into: bytearray) -> None:
    while chunk := os.read(read_end, 65536):
        into += chunk
