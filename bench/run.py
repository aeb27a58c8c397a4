"""`make bench`: what the template's service costs, measured on loopback.

What it measures, one server worker each, side by side in one run:

(a) the baked service's `GET /` against a bare five-line Quart app
    (`bench/apps/bare_quart.py`) served by the same server with the same
    settings: the service as shipped (its JSON access line on), and with
    `<SLUG>_LOG_LEVEL=WARNING` (the access line off); the bare app also
    with the garbage collector set as the service's asgi.py sets it
    (`bench/apps/bare_quart_gc.py`);
(b) those for each `asgi_server` choice (hypercorn, granian, uvicorn),
    baked once per choice;
(c) the service behind one proxy, as deploy/ runs it
    (`<SLUG>_TRUSTED_PROXY_HOPS=1`, wrk sending X-Forwarded-For, -Proto,
    -Host and -Prefix), for the choices given to --proxied (all);
(d) a FastAPI hello world on uvicorn (`bench/apps/fastapi_hello.py`), the
    peer reference, started as its docs start it (`uvicorn module:app`);
(e) in one process without a server, what each layer of the service costs
    per request (`bench/layers.py`, run on the first bake);
(f) a database-backed read, `GET /items/<id>` on SQLite and on PostgreSQL,
    against a FastAPI + SQLAlchemy async peer doing the same query on the
    same server (`bench/database.py`).

This file holds the command line, the stacks of (a)-(d) and the flow; the
rest is by concern, each module's docstring saying how:

- `bench/stacks.py`: the bakes, the virtualenv, the server commands,
  starting and stopping the servers;
- `bench/load.py`: wrk and its stand-in, cold start, CPU time, RSS, the
  rounds and the re-measure of runs on a busy machine;
- `bench/report.py`: the tables, ratios, targets (PASS/MISS) and the
  rewriting of the Markdown blocks;
- `bench/chart.py`: the SVG chart beside each block (docs/performance.svg);
- `bench/database.py` and `bench/layers.py`: (f) and (e), layers.py
  calling the app through `bench/asgi_driver.py`.

It prints the figures, the ratios, PASS/MISS for each target and the layer
table as Markdown; `--markdown PATH` also rewrites the generated blocks of
PATH (docs/performance.md) and writes their charts beside it. Missed
targets do not change the exit status: only a failure to bake, install,
start or load a server (or to run layers.py) does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import database
from chart import svg
from load import MAX_BACKGROUND, Figures, Settings, bench
from report import BEGIN, BEGIN_MARK, END, machine, report, update_doc, versions
from stacks import (
    APPS,
    ROOT,
    SERVERS,
    BenchError,
    Stack,
    bake,
    check_output,
    ensure_venv,
    requirements_of,
)

BARE_APP = "bare_quart:app"
BARE_GC_APP = "bare_quart_gc:app"
PEER_APP = "fastapi_hello:app"
LAYERS = Path(__file__).resolve().parent / "layers.py"
CHART = "performance.svg"
CHART_TITLE = "GET / on loopback, one worker: the service, bare Quart and FastAPI"


# ---------------------------------------------------------------- stacks, layers


def forwarded_headers(slug: str) -> tuple[str, ...]:
    """What the deploy/nginx gateway adds to each request it proxies."""
    return (
        "X-Forwarded-For: 203.0.113.7",
        "X-Forwarded-Proto: https",
        "X-Forwarded-Host: example.com",
        f"X-Forwarded-Prefix: /api/{slug}",
    )


def gc_young_threshold(project: Path) -> str | None:
    """The young generation's threshold the bake's asgi.py sets, if it does."""
    source = (project / project.name / "asgi.py").read_text()
    found = re.search(r"^GC_YOUNG_THRESHOLD = ([\d_]+)$", source, re.MULTILINE)
    return str(int(found[1])) if found else None


def stacks_for(projects: dict[str, Path], proxied: Sequence[str]) -> list[Stack]:
    """For each choice the bare app (as written, and with the service's
    garbage collector settings), the service as shipped, the service with its
    access line off and, for the `proxied` choices, the service behind one
    proxy; then the peer."""
    stacks = []
    for server, project in projects.items():
        app, prefix = f"{project.name}.asgi:app", project.name.upper()
        stacks.append(Stack(f"{server} bare", project, BARE_APP))
        threshold = gc_young_threshold(project)
        if threshold is not None:
            stacks.append(
                Stack(
                    f"{server} bare, GC tuned",
                    project,
                    BARE_GC_APP,
                    env=(("GC_YOUNG_THRESHOLD", threshold),),
                )
            )
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


def secured_bake(template: Path, work: Path, server: str) -> Path | None:
    """A bake with auth=jwt and a slug of its own, for the token's cost in
    bench/layers.py; None for a template without the auth choice."""
    answers = json.loads((template / "cookiecutter.json").read_text())
    if "jwt" not in answers.get("auth", []):
        return None
    return bake(
        template, work, server, answers=["auth=jwt", "project_name=Secured Service"]
    )


def run_layers(venv: Path, project: Path, secured: Path | None) -> str:
    """bench/layers.py's table for a bake, run with the benchmark's venv."""
    print(f"\nbench/layers.py on {project.parent.name}'s bake ...", flush=True)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    return check_output(
        [
            *(venv / "bin" / "python", LAYERS, "--bake", project),
            *(["--jwt-bake", secured] if secured is not None else []),
        ],
        cwd=ROOT,
        env=env,
    )


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
        default=list(SERVERS),
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
    blocks: list[Block] = []
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
            secured = (
                secured_bake(args.template, work, servers[0]) if projects else None
            )
            bakes = [*projects.values(), *with_db.values()]
            bakes += [secured] if secured is not None else []
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
            layers = run_layers(venv, projects[servers[0]], secured) if projects else ""
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
            blocks.append(
                Block(block, (BEGIN_MARK, BEGIN, END), figures, CHART, CHART_TITLE)
            )
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
            blocks.append(
                Block(
                    block,
                    database.MARKS,
                    db_figures,
                    database.CHART,
                    database.CHART_TITLE,
                )
            )
    for each in blocks:
        print()
        print(each.text, end="")
    if args.markdown:
        for each in blocks:
            chart = args.markdown.with_name(each.chart)
            chart.write_text(svg(each.figures, each.chart_title))
            text = f"{each.text}\n![{each.chart_title}]({each.chart})\n"
            update_doc(args.markdown, text, each.marks)
        print(f"\nWrote the figures and charts into {args.markdown}")
    return 0


@dataclass(frozen=True)
class Block:
    """A generated block of the Markdown file, and its chart."""

    text: str
    marks: tuple[str, str, str]
    figures: dict[str, Figures]
    chart: str  # the SVG's file name, beside the Markdown file
    chart_title: str


if __name__ == "__main__":
    sys.exit(main())
