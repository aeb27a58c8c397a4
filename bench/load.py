"""How load is made and measured: wrk (or its Python stand-in), the server's
CPU time, RSS and cold start, rounds, and measuring again on a busy machine.

- Cold start: from spawning the server's command to the first 200 on its
  path (polled every 5 ms, bench/stacks.py).
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
  ratio is the median of the ratios within a round (bench/report.py).
- Other processes: the CPU time the machine spent beyond the server's, wrk's
  and this script's during the measured run, as a share of all CPUs. A run
  above 10 % is measured again once the machine is quieter, within a time
  budget (--patience), and the quietest run is kept.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shlex
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stacks import (
    HOST,
    ROOT,
    BenchError,
    Stack,
    check_output,
    command_for,
    free_port,
    process_tree,
    server_env,
    started,
    wait_for_200,
)

# A run during which other processes used more than this share of the CPUs is
# measured again, within the patience given (see --patience).
MAX_BACKGROUND = 0.10

LABEL_WIDTH = 48  # "round 5/5: uvicorn postgresql peer, serve flags" and a space


# ---------------------------------------------------------------- data


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
    """The command line's rounds, durations, load and patience."""

    rounds: int
    duration: int
    warmup: int
    threads: int
    connections: int
    patience: float


# ---------------------------------------------------------------- processes


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 when it is gone or a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


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


# ---------------------------------------------------------------- rounds


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
