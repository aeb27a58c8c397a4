"""`make bench`'s database part: a read of one row by id, served.

The baked service's `GET /items/<id>` (the example resource: SQLAlchemy
async, one session per request, `session.get(Item, id)`, the answer validated
by a pydantic model, the session committed when the request ends) against a
FastAPI + SQLAlchemy async peer doing the same
(`bench/apps/fastapi_sqlalchemy.py`: same table, query, engine options and
commit), on the same database, served by the same ASGI server (uvicorn,
FastAPI's own, unless `--database-servers` names others):

- The template is baked once per database choice (sqlite, postgresql) and
  `asgi_server` choice. The SQLite database is a file in the benchmark's
  temporary directory; the PostgreSQL one a throwaway cluster on a loopback
  port, made by the postgresql bake's own `tests/support/postgres.py`
  (`PostgresCluster`: initdb, fsync off).
- Each database gets its table from the service's migration (`make migrate`
  with `<SLUG>_DATABASE_URL`), then `--rows` rows (1000) from this module run
  as a script with the benchmark's venv (`seed`); SQLite is put in WAL mode,
  as the service puts it.
- The service runs as shipped (its JSON access line on). On uvicorn, the
  peer runs as run.py's peer does, as FastAPI's docs start it (`uvicorn
  module:app`, so with uvicorn's access log on), which the target takes;
  and once more with the service's own server command (`make -n serve`,
  APP changed, as run.py runs the bare app: no access log), for
  information. On another server only the latter runs, and the target
  takes it. Both get DATABASE_URL.
- wrk loads both with `bench/items.lua`, which asks for the ids 1 to N in
  turn.
- PostgreSQL's processes count as the stack's own, not as other processes'
  (load.py measures again a run during which others took the CPUs); their
  CPU time per request is shown beside the server's.
- Rounds, medians and paired ratios as for `GET /` (load.py, report.py).

Run by bench/run.py (`--databases`, `--database-servers`, `--database-only`,
`--rows`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load import Figures, Settings, bench
from report import (
    Target,
    both_ratios,
    commands,
    cpu_ratio,
    environment,
    ratio,
    table,
    throughput_cells,
)
from stacks import ROOT, BenchError, Stack, bake, check_output, server_env

DATABASES = ("sqlite", "postgresql")  # the database choices benchmarked
PEER_APP = "fastapi_sqlalchemy:app"
SCRIPT = Path(__file__).resolve().parent / "items.lua"
MIN_PEER_RATIO = 1.0  # the service's rps >= 1.0 x the peer's, each pair

BEGIN_MARK = "<!-- bench:database:begin"
BEGIN = f"{BEGIN_MARK} (written by bench/run.py --markdown; edit outside) -->"
END = "<!-- bench:database:end -->"
MARKS = (BEGIN_MARK, BEGIN, END)
CHART = "performance-database.svg"
CHART_TITLE = (
    "GET /items/<id> on loopback, one worker: the service and FastAPI + SQLAlchemy"
)


@dataclass(frozen=True)
class Database:
    """One prepared database: its URL and what serves it."""

    name: str  # the database choice
    url: str
    about: str  # "PostgreSQL 15.8, a local cluster (fsync off)"
    companions: tuple[int, ...] = ()  # its server's process (PostgreSQL)


def bake_all(
    template: Path, work: Path, servers: Sequence[str], databases: Sequence[str]
) -> dict[tuple[str, str], Path]:
    """A bake per database and server choice, by (database, server)."""
    return {
        (database, server): bake(template, work, server, database)
        for database in databases
        for server in servers
    }


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    return env | (extra or {})


def migrate(project: Path, venv: Path, url: str) -> None:
    """The service's own migration: `make migrate` with its DATABASE_URL."""
    setting = (f"{project.name.upper()}_DATABASE_URL", url)
    env = server_env(Stack("migrate", project, "", env=(setting,)), {})
    command = ["make", "--no-print-directory", "migrate", f"VENV={venv}"]
    check_output(command, cwd=project, env=env)


def seed_with(venv: Path, url: str, rows: int) -> str:
    """Seed through this module run as a script; returns what it prints."""
    command = [venv / "bin" / "python", __file__, "seed", url, str(rows)]
    return check_output(command, cwd=ROOT, env=clean_env()).strip()


@contextmanager
def postgres(project: Path) -> Iterator[Any]:
    """A PostgresCluster from a postgresql bake's own, running."""
    path = project / "tests" / "support" / "postgres.py"
    spec = importlib.util.spec_from_file_location("bench_postgres", path)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        cluster = module.PostgresCluster()
        cluster.__enter__()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        raise BenchError(f"PostgreSQL did not start: {error}\n{detail!r}") from None
    try:
        yield cluster
    finally:
        cluster.__exit__(None, None, None)


@contextmanager
def prepared(
    projects: dict[tuple[str, str], Path], venv: Path, rows: int, work: Path
) -> Iterator[dict[str, Database]]:
    """Each database the bakes name, migrated and seeded, while it lasts."""
    found: dict[str, Database] = {}
    with ExitStack() as stack:
        for (name, _server), project in projects.items():
            if name in found:
                continue
            print(f"Preparing {name}: migrate, {rows} rows ...", flush=True)
            if name == "postgresql":
                cluster = stack.enter_context(postgres(project))
                postmaster = (cluster.data / "postmaster.pid").read_text().split()[0]
                printed = check_output(
                    [cluster.binaries / "postgres", "--version"], cwd=ROOT
                )
                version = re.findall(r"\d+(?:\.\d+)+", printed)[0]
                url, companions = cluster.url, (int(postmaster),)
                about = f"PostgreSQL {version}, a local cluster (fsync off)"
            else:
                url = f"sqlite+aiosqlite:///{work / f'{name}.sqlite3'}"
                companions, about = (), ""
            migrate(project, venv, url)
            printed = seed_with(venv, url, rows)
            about = about or f"SQLite {printed}, a file (WAL)"
            found[name] = Database(name, url, about, companions)
        yield found


def stacks_for(
    projects: dict[tuple[str, str], Path], databases: dict[str, Database], rows: int
) -> list[Stack]:
    """For each database and server the service, then the peer: on uvicorn
    as FastAPI's docs start it (its access log on, as the service's access
    line is) and with the service's flags; on another server with the
    service's flags only."""
    stacks = []
    for (name, server), project in projects.items():
        database = databases[name]
        common: dict[str, Any] = {
            "path": "/items/1",
            "script": (str(SCRIPT), str(rows)),
            "companions": database.companions,
        }
        setting = (f"{project.name.upper()}_DATABASE_URL", database.url)
        app = f"{project.name}.asgi:app"
        stacks.append(
            Stack(f"{server} {name} baked", project, app, (setting,), **common)
        )
        peer = f"{server} {name} peer"
        env = (("DATABASE_URL", database.url),)
        if server == "uvicorn":  # as FastAPI's docs start it, as run.py's peer
            stacks.append(Stack(peer, None, PEER_APP, env, **common))
            peer += ", serve flags"
        stacks.append(Stack(peer, project, PEER_APP, env, **common))
    return stacks


def stack_count(projects: dict[tuple[str, str], Path]) -> int:
    """How many stacks stacks_for makes for these bakes."""
    return sum(3 if server == "uvicorn" else 2 for _, server in projects)


def measure(
    projects: dict[tuple[str, str], Path],
    venv: Path,
    work: Path,
    settings: Settings,
    rows: int,
) -> tuple[dict[str, Figures], dict[str, Database]]:
    """Every stack of every database, in rounds (load.bench)."""
    with prepared(projects, venv, rows, work) as databases:
        stacks = stacks_for(projects, databases, rows)
        print(f"{len(stacks)} database stacks x {settings.rounds} rounds", flush=True)
        return bench(stacks, venv, work, settings), databases


# ---------------------------------------------------------------- report


def pairs(figures: dict[str, Figures]) -> list[tuple[str, str, str, str]]:
    """(database, server, service stack, peer stack) for each pair measured."""
    found = []
    for name in figures:
        if name.endswith(" baked"):
            server, database, _ = name.split(" ")
            found.append((database, server, name, f"{server} {database} peer"))
    return found


def ratios_table(figures: dict[str, Figures]) -> list[str]:
    rows = [
        [
            database,
            server,
            both_ratios(figures, baked, peer),
            both_ratios(figures, baked, f"{peer}, serve flags"),
        ]
        for database, server, baked, peer in pairs(figures)
    ]
    header = [
        "database",
        "server",
        "service / peer",
        "service / peer with the service's server flags",
    ]
    return table(header, rows)


def figures_table(figures: dict[str, Figures]) -> list[str]:
    rows = []
    for name, fig in figures.items():
        rows.append(
            [
                *throughput_cells(name, fig),
                f"{fig.median('companion_cpu_us'):.0f}"
                if fig.stack.companions
                else "-",
                f"{fig.median('worker_mib'):.1f}",
            ]
        )
    header = [
        "stack",
        "req/s",
        "req/s range",
        "p50 ms",
        "p99 ms",
        "server CPU µs/req",
        "PostgreSQL CPU µs/req",
        "worker RSS MiB",
    ]
    return table(header, rows)


def targets(figures: dict[str, Figures]) -> list[Target]:
    found = []
    for database, server, baked, peer in pairs(figures):
        versus = ratio(figures, baked, peer)
        by_cpu = cpu_ratio(figures, baked, peer)
        found.append(
            Target(
                f"{database}, {server}: the service's `GET /items/<id>` reaches >="
                f" {MIN_PEER_RATIO:.1f}x the FastAPI + SQLAlchemy peer",
                f"{versus:.2f}x (by CPU {by_cpu:.2f}x)",
                versus >= MIN_PEER_RATIO,
            )
        )
    return found


def report(
    figures: dict[str, Figures],
    databases: dict[str, Database],
    settings: Settings,
    about: dict[str, str],
    packages: dict[str, str],
    replacements: dict[str, str],
    rows: int,
) -> str:
    """The database block: environment, figures, targets, commands."""
    urls = {db.url: f"${db.name.upper()}_URL" for db in databases.values()}
    replacements = urls | replacements
    lines = [
        "A database-backed read, `GET /items/<id>`, against a FastAPI +"
        " SQLAlchemy async peer doing the same query on the same server and"
        " database (`bench/database.py` says how).",
        "",
        *environment(figures, settings, about, packages),
        "- Databases: "
        + "; ".join(
            f"{db.about} (`${db.name.upper()}_URL` below)" for db in databases.values()
        )
        + f"; table `items` from the service's migration, {rows:,} rows;"
        f" wrk asks for the ids 1 to {rows:,} in turn (`bench/items.lua`)",
        "",
        *figures_table(figures),
        "",
        "Ratios of requests/s, service (as shipped: its access line on) / peer"
        " on the same server and database, each the median of the ratios within"
        " a round; in brackets, the ratio that the servers' CPU time per request"
        " predicts (the server process only: PostgreSQL's time is its own"
        " column). On uvicorn the peer is started as FastAPI's docs start it"
        " (`uvicorn module:app`: its access log on), as run.py's peer is; the"
        " last column is against the peer run with the service's own server"
        " flags (`make -n serve`, APP changed: no access log):",
        "",
        *ratios_table(figures),
        "",
        *table(
            ["target", "measured", "result"],
            [
                [t.text, t.figure, "PASS" if t.passed else "MISS"]
                for t in targets(figures)
            ],
        ),
        "",
        "Commands (run in `$BAKE`, the bake of that server and database choice,"
        " or in bench/apps; bench/apps is on PYTHONPATH):",
        "",
        *commands(figures, urls | replacements),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- seeding


def seed(url: str, rows: int) -> str:
    """Replace the items with `rows` of them; the SQLite version, if SQLite.

    Runs in the benchmark's venv (SQLAlchemy and the drivers)."""
    import asyncio
    import sqlite3

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    insert = text(
        "INSERT INTO items (id, name, description, quantity)"
        " VALUES (:id, :name, :description, :quantity)"
    )
    values = [
        {
            "id": number,
            "name": f"item {number}",
            "description": f"Item number {number}, seeded by bench/database.py.",
            "quantity": number % 100,
        }
        for number in range(1, rows + 1)
    ]

    async def main() -> None:
        engine = create_async_engine(url)
        if engine.dialect.name == "sqlite":
            async with engine.connect() as connection:  # outside a transaction
                await connection.exec_driver_sql("PRAGMA journal_mode = WAL")
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM items"))
            await connection.execute(insert, values)
        await engine.dispose()

    asyncio.run(main())
    return sqlite3.sqlite_version if url.startswith("sqlite") else ""


if __name__ == "__main__":
    if sys.argv[1:2] != ["seed"] or len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} seed URL ROWS")
    print(seed(sys.argv[2], int(sys.argv[3])))
