"""How a stack is made and served: the bakes, the virtualenv, the server's
command, and starting, waiting for and stopping its processes.

- The template is baked once per `asgi_server` choice into a temporary
  directory. One virtualenv (`bench/.venv`, kept while its requirements do not
  change) holds the union of the bakes' runtime dependencies, the servers and
  FastAPI; each bake's package and `bench/apps/` come first on PYTHONPATH.
- A server's command is the one its bake's Makefile prints for
  `make -n serve BIND=127.0.0.1:<port> WORKERS=1 VENV=<venv> APP=<module:attr>`,
  run directly (no make in between) in a process group of its own, its output
  sent to a file. The bare app gets the same command with only APP changed.
- A stack is up at its first 200 on its path (polled every 5 ms: the cold
  start, which bench/load.py times), and stopped with SIGTERM to its process
  group, SIGKILL after 5 s.
"""

from __future__ import annotations

import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
APPS = Path(__file__).resolve().parent / "apps"
SERVERS = ("hypercorn", "granian", "uvicorn")  # the asgi_server choices
# Installed beside the bakes' own dependencies: every server the choices use
# with the extras they run with, and the peers (the database one's drivers).
EXTRA_REQUIREMENTS = (
    "aiosqlite",
    "asyncpg",
    "fastapi",
    "granian[uvloop]",
    "hypercorn",
    "sqlalchemy[asyncio]",
    "uvicorn[standard]",
    "uvloop",
)
HOST = "127.0.0.1"


class BenchError(Exception):
    """A step the benchmark cannot go on without failed."""


@dataclass(frozen=True)
class Stack:
    """One thing served and measured: an app on a server with a command."""

    name: str  # "hypercorn baked", "hypercorn bare", "fastapi peer"
    project: Path | None  # the bake whose Makefile gives the command
    app: str  # module:attr
    env: tuple[tuple[str, str], ...] = ()  # set in the server's environment
    headers: tuple[str, ...] = ()  # sent with every request ("Name: value")
    path: str = "/"  # polled for the first 200, and loaded
    script: tuple[str, ...] = ()  # a wrk Lua script and its arguments
    companions: tuple[int, ...] = ()  # process trees serving it too (a database)


# ---------------------------------------------------------------- setup


def check_output(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: dict[str, str] | None = None,
) -> str:
    """Run a command that must succeed; fail with its output otherwise."""
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(
            f"{shlex.join(map(str, args))} exited {result.returncode}\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def bake(
    template: Path,
    output: Path,
    server: str,
    database: str = "",
    answers: Sequence[str] = (),
) -> Path:
    """Bake the defaults with one asgi_server choice (and database choice, if
    given, and other `key=value` answers); return the project."""
    config = output / "cookiecutter.yaml"
    if not config.exists():  # keep the user's ~/.cookiecutterrc out of it
        config.write_text(
            f"cookiecutters_dir: {output / 'cc'}\nreplay_dir: {output / 'replay'}\n"
        )
    names = (server, database, *(answer.split("=")[1] for answer in answers))
    destination = output / "-".join(filter(None, names))
    cookiecutter = Path(sys.executable).with_name("cookiecutter")
    check_output(
        [
            cookiecutter,
            *("--no-input", "--config-file", config, "--output-dir", destination),
            template,
            f"asgi_server={server}",
            *([f"database={database}"] if database else []),
            *answers,
        ],
        cwd=output,
    )
    (project,) = destination.iterdir()
    # The service reads its version from its distribution's metadata; run
    # from PYTHONPATH, not installed, it finds it beside its package.
    about = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    info = project / f"{project.name}-{about['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {about['name']}\nVersion: {about['version']}\n"
    )
    return project


def requirements_of(projects: Sequence[Path]) -> list[str]:
    """The bakes' runtime dependencies and the extra packages, deduplicated."""
    wanted = set(EXTRA_REQUIREMENTS)
    for project in projects:
        pyproject = tomllib.loads((project / "pyproject.toml").read_text())
        wanted.update(pyproject["project"]["dependencies"])
    return sorted(wanted)


def ensure_venv(venv: Path, python: str, requirements: list[str]) -> None:
    """Make `venv` on `python` with `requirements`; a venv already made on the
    same Python only gets what its stamp does not list yet."""
    stamp = venv / ".bench-requirements"
    interpreter = shutil.which(python) or python
    version = check_output([interpreter, "-VV"], cwd=ROOT).strip()
    made = stamp.read_text().splitlines() if stamp.exists() else []
    if made[:1] == [version] and set(requirements) <= set(made[1:]):
        return
    print(f"Installing the benchmark's virtualenv in {venv} ...", flush=True)
    if made[:1] != [version]:
        shutil.rmtree(venv, ignore_errors=True)
        check_output([interpreter, "-m", "venv", venv], cwd=ROOT)
        made = [version]
    uv = Path(sys.executable).with_name("uv")
    if uv.exists():
        install = [uv, "pip", "install", "--quiet", "--compile-bytecode"]
        install += ["--python", venv / "bin" / "python"]
    else:
        install = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    check_output([*install, *requirements], cwd=ROOT)
    stamp.write_text("\n".join([version, *sorted(set(made[1:]) | set(requirements))]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- commands


def serve_line(project: Path, venv: Path, port: int, app: str) -> str:
    """The command line `make -n serve` prints for this app, bind and venv.

    A Makefile without APP gets its own app's spec replaced by `app`, so the
    bare app still runs with the service's exact server settings.
    """
    printed = check_output(
        [
            "make",
            *("-n", "--no-print-directory", "serve"),
            f"BIND={HOST}:{port}",
            "WORKERS=1",
            f"VENV={venv}",
            f"APP={app}",
        ],
        cwd=project,
    )
    lines = printed.replace("\\\n", " ").splitlines()
    own_app = f"{project.name}.asgi:app"
    for spec, replacement in ((app, app), (own_app, app)):
        for line in reversed(lines):  # the server comes after any check
            if spec in line:
                return line.replace(spec, replacement)
    raise BenchError(f"make -n serve in {project} names no app:\n{printed}")


def to_argv(line: str) -> tuple[list[str], dict[str, str]]:
    """A shell command line as argv and leading VAR=value assignments.

    Lines with shell syntax beyond words and quotes run under `sh -c`.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    operators = {"&&", "||", ";", "|", "&", "(", ")", "<", ">", ">>"}
    if "$" in line or "`" in line or operators.intersection(words):
        return ["sh", "-c", line], {}
    assignments: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        assignments[name] = value
    if words and words[0] == "exec":
        words.pop(0)
    return words, assignments


def command_for(
    stack: Stack, venv: Path, port: int
) -> tuple[list[str], Path, dict[str, str]]:
    """argv, working directory and extra environment for a stack on a port."""
    if stack.project is None:  # the peer, as FastAPI's docs start it
        uvicorn = str(venv / "bin" / "uvicorn")
        return [uvicorn, stack.app, "--host", HOST, "--port", str(port)], APPS, {}
    argv, assignments = to_argv(serve_line(stack.project, venv, port, stack.app))
    return argv, stack.project, assignments


def server_env(stack: Stack, assignments: dict[str, str]) -> dict[str, str]:
    """The environment: the caller's, less settings that would change the
    service's shipped configuration, with the bake and the apps importable
    and the stack's own settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"QUART_SETTINGS", "PYTHONPATH", "VIRTUAL_ENV"}
        and not (stack.project and name.startswith(f"{stack.project.name.upper()}_"))
    }
    paths = [str(stack.project)] if stack.project else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(APPS)])
    env.update(assignments)
    env.update(stack.env)
    return env


# ---------------------------------------------------------------- processes


def process_tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def group_alive(pgid: int) -> bool:
    """Whether a process group has a member that is not a zombie."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL after 5 s."""
    pgid = process.pid  # start_new_session: the leader's pid is the group's id
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()


@contextmanager
def started(
    argv: list[str], cwd: Path, env: dict[str, str], log: IO[bytes]
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """Spawn a server in its own process group; yield it and its start time."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process, start
    finally:
        stop(process)


def header_dict(headers: Sequence[str]) -> dict[str, str]:
    """`["Name: value", ...]` as a mapping."""
    return dict(
        (name.strip(), value.strip())
        for name, value in (header.split(":", 1) for header in headers)
    )


def get_root(
    port: int, headers: Sequence[str] = (), path: str = "/"
) -> tuple[int, bytes] | None:
    """Status and body of GET `path` on loopback, or None when nothing answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", path, headers=header_dict(headers))
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_for_200(
    process: subprocess.Popen[bytes],
    port: int,
    start: float,
    log: Path,
    headers: Sequence[str] = (),
    path: str = "/",
) -> float:
    """Seconds from `start` to the first 200 on GET `path`."""
    deadline = start + 30
    while time.perf_counter() < deadline:
        answer = get_root(port, headers, path)
        if answer is not None:
            status, body = answer
            if status != 200:
                raise BenchError(f"GET {path} answered {status}: {body[:200]!r}")
            return time.perf_counter() - start
        if process.poll() is not None:
            raise BenchError(f"the server exited {process.returncode}:\n{tail(log)}")
        time.sleep(0.005)
    raise BenchError(f"no 200 on GET {path} within 30 s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
