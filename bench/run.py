"""`make bench`: what the template's service costs, measured on loopback.

What it measures, one server worker each, side by side in one run:

(a) the baked service's `GET /` against a bare five-line Quart app
    (`bench/apps/bare_quart.py`) served by the same server with the same
    settings: the service as shipped (its JSON access line on), and with
    `<SLUG>_LOG_LEVEL=WARNING` (the access line off);
(b) those for each `asgi_server` choice (hypercorn, granian, uvicorn),
    baked once per choice;
(c) the service behind one proxy, as deploy/ runs it
    (`<SLUG>_TRUSTED_PROXY_HOPS=1`, wrk sending X-Forwarded-For, -Proto,
    -Host and -Prefix), for the choices given to --proxied (hypercorn);
(d) a FastAPI hello world on uvicorn (`bench/apps/fastapi_hello.py`), the
    peer reference, started as its docs start it (`uvicorn module:app`);
(e) in one process without a server, what each layer of the service costs
    per request (`bench/layers.py`, run on the first bake);
(f) a database-backed read, `GET /items/<id>` on SQLite and on PostgreSQL,
    against a FastAPI + SQLAlchemy async peer doing the same query on the
    same server (`bench/database.py`).

How:

- The template is baked once per `asgi_server` choice into a temporary
  directory. One virtualenv (`bench/.venv`, kept while its requirements do not
  change) holds the union of the bakes' runtime dependencies, the servers and
  FastAPI; each bake's package and `bench/apps/` come first on PYTHONPATH.
- A server's command is the one its bake's Makefile prints for
  `make -n serve BIND=127.0.0.1:<port> WORKERS=1 VENV=<venv> APP=<module:attr>`,
  run directly (no make in between) in a process group of its own, its output
  sent to a file. The bare app gets the same command with only APP changed.
- Cold start: from spawning that command to the first 200 on `GET /`
  (polled every 5 ms).
- Load: wrk (`-t2 -c64 --latency`, plus `-H` for a proxied stack's
  headers), a warm-up run, then the measured run: requests/s, p50 and p99
  latency. Without wrk a small asyncio load generator stands in (it shares
  the CPU with the server, so its figures are lower).
- Server CPU per request: the user + system time of the server's process
  tree during the measured run (/proc/<pid>/stat) over the requests wrk made.
- RSS: VmRSS from /proc, right after the measured run, of the worker (the
  process of the tree that used the most CPU time during the load: the
  child that serves for hypercorn and granian, the only process for uvicorn
  with one worker) and summed over the server's process tree.
- Every stack is started afresh in every round; rounds interleave the stacks
  (odd rounds in reverse order). Each figure is the median over rounds; each
  ratio is the median of the ratios within a round.
- Other processes: the CPU time the machine spent beyond the server's, wrk's
  and this script's during the measured run, as a share of all CPUs. A run
  above 10 % is measured again once the machine is quieter, within a time
  budget (--patience), and the quietest run is kept.

It prints the figures, the ratios, PASS/MISS for each target and the layer
table as Markdown; `--markdown PATH` also rewrites the generated block of
PATH (docs/performance.md). Missed targets do not change the exit status:
only a failure to bake, install, start or load a server (or to run
layers.py) does.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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
VERSIONS_OF = (
    "quart",
    "werkzeug",
    "hypercorn",
    "granian",
    "uvicorn",
    "uvloop",
    "httptools",
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
)
BARE_APP = "bare_quart:app"
PEER_APP = "fastapi_hello:app"
HOST = "127.0.0.1"
LAYERS = Path(__file__).resolve().parent / "layers.py"

# Targets.
MAX_OVERHEAD = 0.10  # baked rps >= 0.90 x bare rps on the same server
MIN_PEER_RATIO = 1.0  # the fastest choice's baked rps >= 1.0 x the peer's
MAX_COLD_START_S = 1.5
MAX_RSS_MIB = 80.0
# A run during which other processes used more than this share of the CPUs is
# measured again, within the patience given (see --patience).
MAX_BACKGROUND = 0.10

LABEL_WIDTH = 48  # "round 5/5: uvicorn postgresql peer, serve flags" and a space

BEGIN_MARK = "<!-- bench:begin"
BEGIN = f"{BEGIN_MARK} (written by bench/run.py --markdown; edit outside) -->"
END = "<!-- bench:end -->"


class BenchError(Exception):
    """A step the benchmark cannot go on without failed."""


# ---------------------------------------------------------------- data


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


@dataclass(frozen=True)
class Run:
    """One start, load and stop of a stack."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses and socket errors during the measured run
    cpu_us: float  # the server's CPU time per request (user + system)
    rss_mib: float  # summed over the process tree
    worker_mib: float  # the worker: the process that used the most CPU
    processes: int
    cold_start_s: float
    background: float  # share of the CPUs others used during the load
    command: str
    companion_cpu_us: float = 0.0  # the companions' CPU time per request


@dataclass
class Figures:
    """A stack's runs and their medians."""

    stack: Stack
    runs: list[Run] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


@dataclass(frozen=True)
class Settings:
    rounds: int
    duration: int
    warmup: int
    threads: int
    connections: int
    patience: float


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


def bake(template: Path, output: Path, server: str, database: str = "") -> Path:
    """Bake the defaults with one asgi_server choice (and database choice, if
    given); return the project."""
    config = output / "cookiecutter.yaml"
    if not config.exists():  # keep the user's ~/.cookiecutterrc out of it
        config.write_text(
            f"cookiecutters_dir: {output / 'cc'}\nreplay_dir: {output / 'replay'}\n"
        )
    destination = output / "-".join(filter(None, (server, database)))
    cookiecutter = Path(sys.executable).with_name("cookiecutter")
    check_output(
        [
            cookiecutter,
            *("--no-input", "--config-file", config, "--output-dir", destination),
            template,
            f"asgi_server={server}",
            *([f"database={database}"] if database else []),
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


def versions(venv: Path) -> dict[str, str]:
    """Installed versions of the packages that matter, from the venv."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: found[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(found))\n"
    )
    out = check_output([venv / "bin" / "python", "-c", script, *VERSIONS_OF], ROOT)
    return dict(json.loads(out))


def machine(venv: Path) -> dict[str, str]:
    """CPU model, cores, kernel and the venv's Python."""
    cpu = "unknown"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    python = check_output([venv / "bin" / "python", "-VV"], ROOT).strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": python.replace("\n", " "),
    }


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


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 when it is gone or a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


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


# ---------------------------------------------------------------- load


@dataclass(frozen=True)
class Load:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(out: str) -> Load:
    """Requests/sec, the 50% and 99% latencies and the errors wrk reports."""

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if not found:
            raise BenchError(f"no {percent}% latency in wrk's output:\n{out}")
        return float(found.group(1)) * UNITS_MS[found.group(2)]

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE)
    if not rps:
        raise BenchError(f"no Requests/sec in wrk's output:\n{out}")
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(found.group(1))
    if found := re.search(r"Socket errors: (.*)", out):
        errors += sum(int(count) for count in re.findall(r"\d+", found.group(1)))
    requests = re.search(r"^\s*(\d+) requests in", out, re.MULTILINE)
    if not requests:
        raise BenchError(f"no request count in wrk's output:\n{out}")
    return Load(
        int(requests.group(1)),
        float(rps.group(1)),
        latency("50"),
        latency("99"),
        errors,
    )


def wrk(port: int, seconds: int, settings: Settings, stack: Stack) -> Load:
    script, *arguments = stack.script or ("",)
    out = check_output(
        [
            "wrk",
            f"-t{settings.threads}",
            f"-c{settings.connections}",
            f"-d{seconds}s",
            "--latency",
            *(word for header in stack.headers for word in ("-H", header)),
            *(("-s", script) if script else ()),
            f"http://{HOST}:{port}{stack.path}",
            *(("--", *arguments) if arguments else ()),
        ],
        cwd=ROOT,
    )
    return parse_wrk(out)


async def _client(
    port: int, deadline: float, latencies: list[float], stack: Stack
) -> int:
    """One keep-alive connection sending GET `stack.path` until the deadline."""
    reader, writer = await asyncio.open_connection(HOST, port)
    extra = "".join(f"{header}\r\n" for header in stack.headers)
    request = f"GET {stack.path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{extra}\r\n"
    errors = 0
    try:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            latencies.append(time.perf_counter() - sent)
            errors += not head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    return errors


async def _python_load(port: int, seconds: int, connections: int, stack: Stack) -> Load:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    clients = [_client(port, deadline, latencies, stack) for _ in range(connections)]
    errors = await asyncio.gather(*clients)
    latencies.sort()
    ms = [latencies[int(len(latencies) * q)] * 1000 for q in (0.50, 0.99)]
    count = len(latencies)
    return Load(count, count / seconds, ms[0], ms[1], sum(errors))


def python_load(port: int, seconds: int, settings: Settings, stack: Stack) -> Load:
    """The stand-in for wrk: same connections, in this process (without a
    stack's wrk script: its `path` only)."""
    return asyncio.run(_python_load(port, seconds, settings.connections, stack))


# ---------------------------------------------------------------- measuring


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far: the whole machine's, and the part that is ours."""

    wall: float
    machine: float  # user, nice, system and steal time on all CPUs
    server: float  # the server's process tree
    ours: float  # the server, its companions, our children (wrk) and this process
    per_process: dict[int, float] = field(default_factory=dict)  # in the tree
    companions: float = 0.0  # the companions' process trees (a database)


def process_seconds(pid: int) -> float | None:
    """utime + stime + cutime + cstime of a process (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(ticks) for ticks in stat[11:15]) / CLOCK_TICKS


def cpu_snapshot(tree: Sequence[int], companions: Sequence[int] = ()) -> CpuSnapshot:
    """The CPU seconds so far; `companions` are roots of process trees taken
    afresh (a database's backends come and go; the dead ones count in their
    parent's cutime)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split()[1:9]]
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = fields
    per_process: dict[int, float] = {}
    for pid in tree:
        if (seconds := process_seconds(pid)) is not None:
            per_process[pid] = seconds
    server = sum(per_process.values())
    helpers = sum(
        process_seconds(pid) or 0.0 for root in companions for pid in process_tree(root)
    )
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        own += usage.ru_utime + usage.ru_stime
    return CpuSnapshot(
        wall=time.perf_counter(),
        machine=(user + nice + system + steal) / CLOCK_TICKS,
        server=server,
        ours=server + helpers + own,
        per_process=per_process,
        companions=helpers,
    )


def background_share(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """The share of all CPUs that other processes (or the hypervisor) used."""
    others = (after.machine - before.machine) - (after.ours - before.ours)
    capacity = (after.wall - before.wall) * (os.cpu_count() or 1)
    return max(others, 0.0) / capacity


def measure(stack: Stack, venv: Path, work: Path, settings: Settings) -> Run:
    """Start a stack, time its cold start, load it, read its RSS, stop it."""
    port = free_port()
    argv, cwd, assignments = command_for(stack, venv, port)
    env = server_env(stack, assignments)
    load = wrk if shutil.which("wrk") else python_load
    log_path = work / f"{stack.name.replace(' ', '-')}.log"
    with (
        log_path.open("ab") as log,
        started(argv, cwd, env, log) as (process, start),
    ):
        cold_start = wait_for_200(
            process, port, start, log_path, stack.headers, stack.path
        )
        load(port, settings.warmup, settings, stack)
        tree = process_tree(process.pid)
        before = cpu_snapshot(tree, stack.companions)
        result = load(port, settings.duration, settings, stack)
        after = cpu_snapshot(tree, stack.companions)
        sizes = {pid: rss_kib(pid) for pid in process_tree(process.pid)}
    worker = max(
        after.per_process,
        key=lambda pid: after.per_process[pid] - before.per_process.get(pid, 0),
    )
    shown = " ".join(
        f"{name}={value}" for name, value in [*assignments.items(), *stack.env]
    )
    return Run(
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.errors,
        cpu_us=(after.server - before.server) / max(result.requests, 1) * 1e6,
        rss_mib=sum(sizes.values()) / 1024,
        worker_mib=sizes.get(worker, 0) / 1024,
        processes=sum(1 for size in sizes.values() if size),
        cold_start_s=cold_start,
        background=background_share(before, after),
        command=f"{shown} {shlex.join(argv)}".strip().replace(str(port), "<port>"),
        companion_cpu_us=(after.companions - before.companions)
        / max(result.requests, 1)
        * 1e6,
    )


def forwarded_headers(slug: str) -> tuple[str, ...]:
    """What the deploy/nginx gateway adds to each request it proxies."""
    return (
        "X-Forwarded-For: 203.0.113.7",
        "X-Forwarded-Proto: https",
        "X-Forwarded-Host: example.com",
        f"X-Forwarded-Prefix: /api/{slug}",
    )


def stacks_for(projects: dict[str, Path], proxied: Sequence[str]) -> list[Stack]:
    """For each choice the bare app, the service as shipped, the service with
    its access line off and, for the `proxied` choices, the service behind
    one proxy; then the peer."""
    stacks = []
    for server, project in projects.items():
        app, prefix = f"{project.name}.asgi:app", project.name.upper()
        stacks.append(Stack(f"{server} bare", project, BARE_APP))
        stacks.append(Stack(f"{server} baked", project, app))
        stacks.append(
            Stack(
                f"{server} baked, access off",
                project,
                app,
                env=((f"{prefix}_LOG_LEVEL", "WARNING"),),
            )
        )
        if server in proxied:
            stacks.append(
                Stack(
                    f"{server} baked, proxied",
                    project,
                    app,
                    env=((f"{prefix}_TRUSTED_PROXY_HOPS", "1"),),
                    headers=forwarded_headers(project.name),
                )
            )
    stacks.append(Stack("fastapi peer", None, PEER_APP))
    return stacks


def progress(run: Run) -> str:
    """One run's figures on one line."""
    line = (
        f" {run.rps:8.0f} req/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms"
        f"  CPU {run.cpu_us:4.0f} us/req  RSS {run.rss_mib:5.1f} MiB"
        f"  cold {run.cold_start_s:4.2f} s"
        f"  others {run.background:4.0%}"
    )
    return line + (f"  ERRORS {run.errors}" if run.errors else "")


def wait_for_quiet(limit: float) -> None:
    """Wait, at most `limit` seconds, until other processes leave the CPUs."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_snapshot([])
        time.sleep(1)
        if background_share(before, cpu_snapshot([])) <= MAX_BACKGROUND:
            return


@dataclass
class Patience:
    """Seconds the whole benchmark may still spend measuring busy runs again."""

    left: float


def measure_quietly(
    stack: Stack, venv: Path, work: Path, settings: Settings, patience: Patience
) -> tuple[Run, int]:
    """Measure; while other processes took more than MAX_BACKGROUND of the
    CPUs during the load, and patience is left, wait for the machine to
    quieten and measure again (three runs at most). Returns the quietest run
    and the number of runs made."""
    runs = [measure(stack, venv, work, settings)]
    while runs[-1].background > MAX_BACKGROUND and patience.left > 0 and len(runs) < 3:
        print(progress(runs[-1]) + "  busy: again", flush=True)
        print(" " * LABEL_WIDTH, end="", flush=True)
        began = time.monotonic()
        wait_for_quiet(min(patience.left, 20))
        runs.append(measure(stack, venv, work, settings))
        patience.left -= time.monotonic() - began
    if len(runs) > 1:
        busy = runs[-1].background > MAX_BACKGROUND
        print(progress(runs[-1]) + ("  busy" if busy else ""), flush=True)
        print(" " * LABEL_WIDTH, end="", flush=True)
    return min(runs, key=lambda run: run.background), len(runs)


def bench(
    stacks: list[Stack], venv: Path, work: Path, settings: Settings
) -> dict[str, Figures]:
    """Every stack once per round; odd rounds run them in reverse order."""
    figures = {stack.name: Figures(stack) for stack in stacks}
    patience = Patience(settings.patience)
    for round_number in range(settings.rounds):
        order = stacks if round_number % 2 == 0 else stacks[::-1]
        for stack in order:
            label = f"round {round_number + 1}/{settings.rounds}: {stack.name}"
            print(f"{label:<{LABEL_WIDTH}}", end="", flush=True)
            run, made = measure_quietly(stack, venv, work, settings, patience)
            figures[stack.name].runs.append(run)
            kept = f"  (kept: the quietest of {made})" if made > 1 else ""
            print(progress(run) + kept, flush=True)
    return figures


def run_layers(venv: Path, project: Path) -> str:
    """bench/layers.py's table for a bake, run with the benchmark's venv."""
    print(f"\nbench/layers.py on {project.parent.name}'s bake ...", flush=True)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    return check_output(
        [venv / "bin" / "python", LAYERS, "--bake", project], cwd=ROOT, env=env
    )


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class Target:
    text: str
    figure: str
    passed: bool


def ratio(
    figures: dict[str, Figures], numerator: str, denominator: str, what: str = "rps"
) -> float:
    """Median over rounds of one stack's figure over another's in the same
    round (paired, so that a slow spell of the machine cancels out)."""
    runs = zip(figures[numerator].runs, figures[denominator].runs, strict=True)
    return statistics.median(getattr(a, what) / getattr(b, what) for a, b in runs)


def cpu_ratio(figures: dict[str, Figures], numerator: str, denominator: str) -> float:
    """The throughput ratio that the servers' CPU time per request predicts:
    a cross-check, less moved than requests/s by other processes taking CPU
    time (though they still slow the server down through shared caches)."""
    return ratio(figures, denominator, numerator, "cpu_us")


def targets(figures: dict[str, Figures], servers: Sequence[str]) -> list[Target]:
    """Each target, its measured figure and whether it passes."""
    found = []
    for server in servers:
        overhead = ratio(figures, f"{server} baked", f"{server} bare")
        by_cpu = cpu_ratio(figures, f"{server} baked", f"{server} bare")
        found.append(
            Target(
                f"{server}: the template (as shipped: access line on) costs <="
                f" {MAX_OVERHEAD:.0%} of bare Quart's throughput",
                f"baked/bare {overhead:.2f} (by CPU {by_cpu:.2f})",
                overhead >= 1 - MAX_OVERHEAD,
            )
        )
    for server in servers:
        quiet = f"{server} baked, access off"
        overhead = ratio(figures, quiet, f"{server} bare")
        by_cpu = cpu_ratio(figures, quiet, f"{server} bare")
        found.append(
            Target(
                f"{server}: the template without its access line costs <="
                f" {MAX_OVERHEAD:.0%}",
                f"access off/bare {overhead:.2f} (by CPU {by_cpu:.2f})",
                overhead >= 1 - MAX_OVERHEAD,
            )
        )
    fastest = max(servers, key=lambda server: figures[f"{server} baked"].median("rps"))
    versus_peer = ratio(figures, f"{fastest} baked", "fastapi peer")
    peer_by_cpu = cpu_ratio(figures, f"{fastest} baked", "fastapi peer")
    found.append(
        Target(
            f"the fastest choice (as shipped) reaches >= {MIN_PEER_RATIO:.1f}x the"
            " FastAPI peer",
            f"{fastest} {versus_peer:.2f}x (by CPU {peer_by_cpu:.2f}x)",
            versus_peer >= MIN_PEER_RATIO,
        )
    )
    for server in servers:
        cold = figures[f"{server} baked"].median("cold_start_s")
        found.append(
            Target(
                f"{server}: cold start < {MAX_COLD_START_S} s",
                f"{cold:.2f} s",
                cold < MAX_COLD_START_S,
            )
        )
    for server in servers:
        baked = figures[f"{server} baked"]
        worker, tree = baked.median("worker_mib"), baked.median("rss_mib")
        processes = baked.runs[-1].processes
        found.append(
            Target(
                f"{server}: RSS per worker < {MAX_RSS_MIB:.0f} MiB (checks the"
                " worker process; the whole tree for information)",
                f"worker {worker:.1f} MiB (tree {tree:.1f} MiB, {processes}"
                f" process{'es' if processes != 1 else ''})",
                worker < MAX_RSS_MIB,
            )
        )
    return found


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    aligns = ["---" if i == 0 else "--:" for i in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(aligns) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def figures_table(figures: dict[str, Figures]) -> list[str]:
    rows = []
    for name, fig in figures.items():
        rates = [run.rps for run in fig.runs]
        rows.append(
            [
                name,
                f"{fig.median('rps'):,.0f}",
                f"{min(rates):,.0f}-{max(rates):,.0f}",
                f"{fig.median('p50_ms'):.2f}",
                f"{fig.median('p99_ms'):.2f}",
                f"{fig.median('cpu_us'):.0f}",
                f"{fig.median('worker_mib'):.1f}",
                f"{fig.median('rss_mib'):.1f}",
                str(fig.runs[-1].processes),
                f"{fig.median('cold_start_s'):.2f}",
            ]
        )
    header = [
        "stack",
        "req/s",
        "req/s range",
        "p50 ms",
        "p99 ms",
        "server CPU µs/req",
        "worker RSS MiB",
        "tree RSS MiB",
        "processes",
        "cold start s",
    ]
    return table(header, rows)


def both_ratios(figures: dict[str, Figures], numerator: str, denominator: str) -> str:
    """`<req/s ratio> (<ratio by CPU>)`, or a dash when a stack was not run."""
    if numerator not in figures or denominator not in figures:
        return "-"
    by_rps = ratio(figures, numerator, denominator)
    return f"{by_rps:.2f} ({cpu_ratio(figures, numerator, denominator):.2f})"


def ratios_table(figures: dict[str, Figures], servers: Sequence[str]) -> list[str]:
    rows = [
        [
            server,
            both_ratios(figures, f"{server} baked", f"{server} bare"),
            both_ratios(figures, f"{server} baked, access off", f"{server} bare"),
            both_ratios(figures, f"{server} baked, proxied", f"{server} bare"),
            both_ratios(figures, f"{server} baked", "fastapi peer"),
            both_ratios(figures, f"{server} bare", "fastapi peer"),
        ]
        for server in servers
    ]
    header = [
        "server",
        "baked / bare",
        "access off / bare",
        "proxied / bare",
        "baked / FastAPI peer",
        "bare / FastAPI peer",
    ]
    return table(header, rows)


def shorten(command: str, replacements: dict[str, str]) -> str:
    for long, short in replacements.items():
        command = command.replace(long, short)
    return command


def quiet(figures: dict[str, Figures], patience: float) -> str:
    """How much CPU other processes took during the kept runs."""
    shares = [run.background for fig in figures.values() for run in fig.runs]
    return (
        f"other processes used {statistics.median(shares):.0%} of the CPUs"
        f" during the median run, {max(shares):.0%} at most (a run above"
        f" {MAX_BACKGROUND:.0%} is made again once the machine is quieter,"
        f" within {patience:.0f} s in all)"
    )


def environment(
    figures: dict[str, Figures],
    settings: Settings,
    about: dict[str, str],
    packages: dict[str, str],
) -> list[str]:
    """When, where, with what and how quiet: a block's first lines."""
    loader = (
        f"wrk -t{settings.threads} -c{settings.connections} "
        f"-d{settings.duration}s --latency"
        if shutil.which("wrk")
        else f"the Python load generator, {settings.connections} connections, "
        f"{settings.duration} s"
    )
    return [
        f"Measured {datetime.date.today().isoformat()} by `make bench`"
        f" ({settings.rounds} rounds, medians).",
        "",
        f"- Machine: {about['cpu']}, {about['cores']} cores, {about['kernel']}",
        f"- Python: {about['python']}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in packages.items()),
        f"- Load: `{loader}` after a {settings.warmup} s warm-up, one worker, loopback",
        f"- Background: {quiet(figures, settings.patience)}",
    ]


def commands(figures: dict[str, Figures], replacements: dict[str, str]) -> list[str]:
    """Each stack's command as its last run ran it, and any errors it had."""
    lines = []
    for name, fig in figures.items():
        line = f"- {name}: `{shorten(fig.runs[-1].command, replacements)}`"
        if fig.stack.headers:
            line += ", wrk with " + ", ".join(f"`-H '{h}'`" for h in fig.stack.headers)
        if fig.stack.script:
            line += (
                f", wrk with `-s {shorten(shlex.join(fig.stack.script), replacements)}`"
            )
        lines.append(line)
    errors = {name: sum(r.errors for r in fig.runs) for name, fig in figures.items()}
    for name, count in errors.items():
        if count:
            lines.append(f"- WARNING: {name} had {count} errors under load")
    return lines


def report(
    figures: dict[str, Figures],
    servers: Sequence[str],
    settings: Settings,
    about: dict[str, str],
    packages: dict[str, str],
    replacements: dict[str, str],
    layers: str,
) -> str:
    """The Markdown block: when, where, how, the figures, ratios, targets and
    the layer table."""
    lines = [
        *environment(figures, settings, about, packages),
        "",
        *figures_table(figures),
        "",
        "Ratios of requests/s, each the median of the ratios within a round; in"
        " brackets, the ratio that the servers' CPU time per request predicts"
        " (the inverse ratio of µs/req):",
        "",
        *ratios_table(figures, servers),
        "",
        *table(
            ["target", "measured", "result"],
            [
                [t.text, t.figure, "PASS" if t.passed else "MISS"]
                for t in targets(figures, servers)
            ],
        ),
        "",
        "What each layer of the service costs per request (`bench/layers.py`,"
        " on the first bake, after the served runs):",
        "",
        layers.rstrip("\n"),
        "",
        "Commands (run in `$BAKE`, the bake of that choice, or in bench/apps for"
        " the peer; `$VENV` is the benchmark's virtualenv):",
        "",
        *commands(figures, replacements),
    ]
    return "\n".join(lines) + "\n"


def update_doc(
    path: Path, block: str, marks: tuple[str, str, str] = (BEGIN_MARK, BEGIN, END)
) -> None:
    """Replace a generated block of `path` (its begin mark's prefix, the whole
    begin mark, the end mark), or append one."""
    begin_mark, begin_line, end_mark = marks
    text = path.read_text() if path.exists() else ""
    generated = f"{begin_line}\n\n{block}\n{end_mark}"
    begin, end = text.find(begin_mark), text.find(end_mark)
    if begin >= 0 and end > begin:
        text = text[:begin] + generated + text[end + len(end_mark) :]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + generated + "\n"
    path.write_text(text)


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=4, help="seconds per run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--patience",
        type=float,
        default=60,
        help="seconds in all for measuring again the runs during which other"
        f" processes used more than {MAX_BACKGROUND:.0%}% of the CPUs",
    )
    parser.add_argument("--servers", nargs="+", default=list(SERVERS))
    parser.add_argument(
        "--proxied",
        nargs="*",
        default=["hypercorn"],
        help="choices also measured behind one proxy (TRUSTED_PROXY_HOPS=1 and"
        " X-Forwarded-* headers); none with no value",
    )
    parser.add_argument(
        "--databases",
        nargs="*",
        choices=["sqlite", "postgresql"],
        default=["sqlite", "postgresql"],
        help="database choices whose GET /items/<id> is measured against the"
        " FastAPI + SQLAlchemy peer (bench/database.py); none with no value",
    )
    parser.add_argument(
        "--database-servers",
        nargs="+",
        choices=SERVERS,
        default=["uvicorn"],
        help="the servers of the database part, each serving the service and"
        " the peer (default: uvicorn, FastAPI's own)",
    )
    parser.add_argument(
        "--database-only",
        action="store_true",
        help="only the database part (rewrites only its block of --markdown)",
    )
    parser.add_argument("--rows", type=int, default=1000, help="in the items table")
    parser.add_argument("--python", default="python3", help="for the venv")
    parser.add_argument("--venv", type=Path, default=ROOT / "bench" / ".venv")
    parser.add_argument("--template", type=Path, default=ROOT)
    parser.add_argument(
        "--markdown", type=Path, help="rewrite the generated block of this file"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import database  # bench/database.py, which imports this module as `run`

    args = parse_args(argv)
    settings = Settings(
        args.rounds,
        args.duration,
        args.warmup,
        args.threads,
        args.connections,
        args.patience,
    )
    venv = args.venv.resolve()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanups
    if not shutil.which("wrk"):
        print("wrk not found: using the Python load generator (lower figures)")
    servers = [] if args.database_only else args.servers
    blocks: list[tuple[str, tuple[str, str, str]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        work = Path(temporary)
        try:
            projects = {s: bake(args.template, work, s) for s in servers}
            with_db = database.bake_all(
                args.template,
                work,
                args.database_servers,
                args.databases,
            )
            bakes = [*projects.values(), *with_db.values()]
            ensure_venv(venv, args.python, requirements_of(bakes))
            stacks = stacks_for(projects, args.proxied) if projects else []
            runs = len(stacks) + database.stack_count(with_db)
            runs *= settings.rounds
            estimate = runs * (settings.warmup + settings.duration + 0.7) + 15
            print(f"{runs} runs ({settings.rounds} rounds), ~{estimate:.0f} s")
            figures = bench(stacks, venv, work, settings) if stacks else {}
            if with_db:
                db_figures, databases = database.measure(
                    with_db, venv, work, settings, args.rows
                )
            layers = run_layers(venv, projects[servers[0]]) if projects else ""
        except BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
        replacements: dict[str, str] = {str(venv): "$VENV", str(APPS): "bench/apps"}
        replacements.update({str(p): "$BAKE" for p in bakes})
        replacements[f"{ROOT}/"] = ""
        about, packages = machine(venv), versions(venv)
        if figures:
            block = report(
                figures, servers, settings, about, packages, replacements, layers
            )
            blocks.append((block, (BEGIN_MARK, BEGIN, END)))
        if with_db:
            block = database.report(
                db_figures,
                databases,
                settings,
                about,
                packages,
                replacements,
                args.rows,
            )
            blocks.append((block, database.MARKS))
    for block, _marks in blocks:
        print()
        print(block, end="")
    if args.markdown:
        for block, marks in blocks:
            update_doc(args.markdown, block, marks)
        print(f"\nWrote the figures into {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.modules.setdefault("run", sys.modules[__name__])  # one copy for database.py
    sys.exit(main())
