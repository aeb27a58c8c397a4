"""Process, network and interpreter helpers for the template's suite."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[2]
COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")
UV = Path(sys.executable).with_name("uv")  # from tests/requirements.txt

# The session fixtures' shapes (see conftest.py): a context or a Python version
# in, a directory out.
Bake = Callable[[str], Path]
Venv = Callable[[str], Path]


def load_hook(name: str) -> ModuleType:
    """Import hooks/<name>.py unrendered: plain Python, as its docstring says."""
    path = TEMPLATE_DIR / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; the caller checks the return code.

    The command runs in a session of its own, killed whole on a timeout (or
    an interrupt): subprocess.run would kill `make` and leave the pytest it
    started running, holding the output pipes.
    """
    with subprocess.Popen(
        [str(arg) for arg in args],
        cwd=cwd,
        env=dict(os.environ if env is None else env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=10)
            raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def check(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> str:
    """Run a command that must succeed; on failure, fail with its whole output."""
    result = run(args, cwd, env, timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode} in {cwd}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return result.stdout


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    url: str,
    method: str = "GET",
    timeout: float = 10,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
) -> Reply:
    """One real HTTP request, with `json_body` sent as JSON when given; an
    error status is a Reply, not an exception."""
    sent = dict(headers or {})
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        sent["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data, sent, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    ready_url: str | None = None,
    ready_pattern: str | None = None,
    timeout: float = 90,
) -> Iterator[Server]:
    """Start a server in its own process group and wait until it is ready.

    Ready means `ready_url` answers any HTTP status, or `ready_pattern` shows up
    in the output. On exit the whole group gets SIGTERM, then SIGKILL if it
    lingers, so `make` and the servers it starts all go.
    """
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(arg) for arg in args],
            cwd=cwd,
            env=dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(process, log)
    try:
        deadline = time.monotonic() + timeout
        while not _ready(server, ready_url, ready_pattern):
            if process.poll() is not None:
                raise AssertionError(
                    f"{args} exited {process.returncode} before it was ready:\n"
                    f"{server.output()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{args} not ready after {timeout}s:\n{server.output()}"
                )
            time.sleep(0.1)
        yield server
    finally:
        stop(process)


def _ready(server: Server, url: str | None, pattern: str | None) -> bool:
    if pattern is not None and not re.search(pattern, server.output()):
        return False
    if url is not None:
        try:
            http(url, timeout=2)
        except OSError:
            return False
    return True


def wait_for_text(log: Path, text: str, timeout: float = 10) -> str:
    """The log's content once `text` is in it (servers write it after replying)."""
    deadline = time.monotonic() + timeout
    while text not in (content := log.read_text(errors="replace")):
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{content}"
        time.sleep(0.05)
    return content


def json_lines(output: str) -> Iterator[dict[str, Any]]:
    """The JSON objects among a server's output lines (make echoes commands)."""
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def access_lines(
    read: Callable[[], str], slug: str, request_id: str, timeout: float = 5
) -> list[dict[str, Any]]:
    """The service's access lines for `request_id` in what `read()` returns,
    once there is one: a line is written after its response is sent."""
    deadline = time.monotonic() + timeout
    while True:
        output = read()
        found = [
            record
            for record in json_lines(output)
            if record.get("logger") == f"{slug}.access"
            and record.get("request_id") == request_id
        ]
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no access line for {request_id}:\n{output}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace`."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def venv_env(venv: Path, **variables: str) -> dict[str, str]:
    """The environment to run a bake's tools in: `venv`'s bin first on PATH,
    no QUART_SETTINGS (the packaged settings only), plus `variables`."""
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("QUART_SETTINGS", None)
    return {**env, **variables}


def serve_command(project: Path, venv: Path, **variables: str) -> str:
    """The server command `make serve` runs with these variables, as printed
    by `make -n serve`: run it directly (`sh -c "exec ..."`) to make the server
    the main process, as deploy/systemd and a container's PID 1 do."""
    assignments = [f"{name}={value}" for name, value in variables.items()]
    printed = check(["make", "-n", "serve", f"VENV={venv}", *assignments], project)
    # Recipe lines continue with a backslash; the last line runs the server.
    lines = printed.replace("\\\n", " ").strip().splitlines()
    return lines[-1]


VERSION_PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"


def find_python(minor: str) -> Path | None:
    """The interpreter for Python `minor` ("3.12"): on PATH, else from pyenv."""
    candidates: list[Path] = []
    on_path = shutil.which(f"python{minor}")
    if on_path:
        candidates.append(Path(on_path))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        pyenv_root.glob(f"versions/{minor}.*/bin/python{minor}"), reverse=True
    )
    for candidate in candidates:
        probe = run([candidate, "-c", VERSION_PROBE], cwd=Path.cwd())
        if probe.returncode == 0 and probe.stdout.strip() == minor:
            return candidate
    return None


def python_or_skip(minor: str) -> Path:
    """The interpreter for Python `minor`, or skip the test, saying which is missing."""
    interpreter = find_python(minor)
    if interpreter is None:
        pytest.skip(
            f"Python {minor} is not on this machine (looked for "
            f"python{minor} on PATH and in pyenv): not checked on it"
        )
    return interpreter
