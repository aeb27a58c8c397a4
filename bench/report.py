"""How the report is written: the machine and packages, the figures and
ratios tables, the targets with PASS/MISS, the commands, and the rewriting
of a generated block of the Markdown file (docs/performance.md).

Each ratio is paired: the median over rounds of the ratio within a round, so
that a slow spell of the machine, which hits neighbouring runs alike, cancels
out. In brackets beside it, the ratio the servers' CPU time per request
predicts.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from load import MAX_BACKGROUND, Figures, Settings
from stacks import ROOT, check_output

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

# Targets.
MAX_OVERHEAD = 0.05  # baked rps >= 0.95 x bare rps on the same server
MAX_PROXIED_OVERHEAD = 0.10  # proxied baked rps >= 0.90 x bare rps
MIN_PEER_RATIO = 1.0  # the fastest choice's baked rps >= 1.0 x the peer's
STRETCH_PEER_RATIO = 1.2
MAX_COLD_START_S = 1.0
MAX_RSS_MIB = 60.0

BEGIN_MARK = "<!-- bench:begin"
BEGIN = f"{BEGIN_MARK} (written by bench/run.py --markdown; edit outside) -->"
END = "<!-- bench:end -->"


# ---------------------------------------------------------------- environment


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


# ---------------------------------------------------------------- tables and targets


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
        proxied = f"{server} baked, proxied"
        if proxied not in figures:
            continue
        overhead = ratio(figures, proxied, f"{server} bare")
        by_cpu = cpu_ratio(figures, proxied, f"{server} bare")
        found.append(
            Target(
                f"{server}: behind one proxy (TRUSTED_PROXY_HOPS=1, the four"
                f" forwarded headers) it costs <= {MAX_PROXIED_OVERHEAD:.0%}",
                f"proxied/bare {overhead:.2f} (by CPU {by_cpu:.2f})",
                overhead >= 1 - MAX_PROXIED_OVERHEAD,
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
    found.append(
        Target(
            f"stretch: the fastest choice reaches >= {STRETCH_PEER_RATIO:.1f}x the"
            " FastAPI peer",
            f"{fastest} {versus_peer:.2f}x",
            versus_peer >= STRETCH_PEER_RATIO,
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


def throughput_cells(name: str, fig: Figures) -> list[str]:
    """A stack's name, req/s (median and range), p50, p99 and server CPU."""
    rates = [run.rps for run in fig.runs]
    return [
        name,
        f"{fig.median('rps'):,.0f}",
        f"{min(rates):,.0f}-{max(rates):,.0f}",
        f"{fig.median('p50_ms'):.2f}",
        f"{fig.median('p99_ms'):.2f}",
        f"{fig.median('cpu_us'):.0f}",
    ]


def figures_table(figures: dict[str, Figures]) -> list[str]:
    rows = []
    for name, fig in figures.items():
        rows.append(
            [
                *throughput_cells(name, fig),
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
            both_ratios(figures, f"{server} baked", f"{server} bare, GC tuned"),
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
        "baked / bare, GC tuned",
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
