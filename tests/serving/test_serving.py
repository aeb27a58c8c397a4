"""The bakes served for real on loopback, every way a user starts them:
`QUART_APP=<slug> quart run` from the project root, as in the book, `make run`
(the same with reload) and `make serve`, on the oldest and the newest Python
offered (Quart 0.22 and 0.23), and `make serve` with each asgi_server choice.
Each answers GET /, the probes and JSON 404 and 405 errors with a request ID;
`make serve` logs JSON lines, once each; a bad settings file stops each with
the file's name (`make serve` in one line). Hostile input: test_hostile.py."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from contexts import PYTHONS, SERVER_CONTEXTS, answer, python_of
from helpers import (
    Bake,
    Reply,
    free_port,
    http,
    run,
    serve_command,
    serving,
    venv_env,
    wait_for_text,
)

Installed = Callable[[str, str], Path]


@dataclass
class Served:
    kind: str
    server: str
    database: str
    base: str
    log: Path
    project: Path


def served_by(
    kind: str, project: Path, venv: Path, log: Path, server: str, database: str
) -> Iterator[Served]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = venv_env(venv)
    if kind == "quart run":
        args = ["quart", "run", "--host", "127.0.0.1", "--port", str(port)]
        env["QUART_APP"] = project.name
    elif kind == "make run":
        args = ["make", "run", f"PORT={port}", f"VENV={venv}"]
    else:
        args = ["make", "serve", f"BIND=127.0.0.1:{port}", f"VENV={venv}"]
    with serving(args, cwd=project, env=env, log=log, ready_url=f"{base}/"):
        yield Served(kind, server, database, base, log, project)


KINDS = ["quart run", "make run", "make serve"]
# (kind, context, python)
SERVED = [
    (kind, "default", python) for python in (PYTHONS[0], PYTHONS[-1]) for kind in KINDS
] + [
    ("make serve", context, python_of(context))
    for server, context in SERVER_CONTEXTS.items()
    if context != "default"
]


def served_id(kind: str, context: str, python: str) -> str:
    server = f"-{answer(context, 'asgi_server')}" if kind == "make serve" else ""
    return f"{kind}{server}-py{python}"


@pytest.fixture(scope="module", params=SERVED, ids=[served_id(*p) for p in SERVED])
def served(
    request: pytest.FixtureRequest,
    bake: Bake,
    installed: Installed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    kind, context, python = request.param
    project = bake(context)
    venv = installed(context, python)
    log = tmp_path_factory.mktemp("serving") / "server.log"
    yield from served_by(
        kind,
        project,
        venv,
        log,
        answer(context, "asgi_server"),
        answer(context, "database"),
    )


@pytest.fixture
def base_url(served: Served) -> str:
    return served.base


def assert_json_error(reply: Reply, status: int) -> None:
    assert reply.status == status
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["status"] == status
    assert body["message"]


def test_home_is_an_empty_json_object(base_url: str) -> None:
    reply = http(f"{base_url}/")

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {}
    assert len(reply.headers["x-request-id"]) == 32


def test_probes_answer(served: Served) -> None:
    """/readyz checks the database where there is one: the sqlite bake's is a
    file in the working directory, ready once migrated and otherwise saying
    what to run; the postgresql bake's default server is not running here
    (test_database_serving.py gives it one)."""
    ready = http(f"{served.base}/readyz")

    assert http(f"{served.base}/healthz").json() == {"status": "ok"}
    if served.database == "none" or migrated(served):
        checks = {} if served.database == "none" else {"database": "ok"}
        assert ready.json() == {"status": "ready", "checks": checks}
    else:
        assert (ready.status, list(ready.json()["checks"])) == (503, ["database"])
    if served.database == "sqlite" and not migrated(served):
        reason = ready.json()["checks"]["database"]
        assert "no migration applied" in reason
        assert "run `make migrate`" in reason


def migrated(served: Served) -> bool:
    """Whether the sqlite bake's database file holds a migration revision
    (another test may have run `make migrate` in the same folder)."""
    path = served.project / f"{served.project.name}.sqlite3"
    if served.database != "sqlite" or not path.exists():
        return False
    with closing(sqlite3.connect(path)) as connection:
        try:
            return bool(connection.execute("SELECT * FROM alembic_version").fetchall())
        except sqlite3.OperationalError:  # no such table
            return False


def test_each_request_is_logged_once(served: Served) -> None:
    """make serve: JSON lines, the service's access line and no server's. The
    development servers keep Quart's readable lines (and log no requests)."""
    reply = http(f"{served.base}/no/such/thing", headers={"X-Request-ID": "log-1"})
    assert reply.headers["x-request-id"] == "log-1"

    if served.kind != "make serve":
        content = served.log.read_text()
        assert "* Running on http://127.0.0.1:" in content
        assert "/no/such/thing" not in content
        assert not [line for line in content.splitlines() if line[:1] == "{"]
        return
    # Besides the commands make echoes, the lines are JSON objects.
    content = wait_for_text(served.log, '"log-1"')
    lines = [json.loads(line) for line in content.splitlines() if line[:1] == "{"]
    access = [line for line in lines if line.get("request_id") == "log-1"]
    assert len(access) == 1, content
    assert access[0]["logger"].endswith(".access")
    assert (access[0]["path"], access[0]["status"]) == ("/no/such/thing", 404)
    assert content.count("GET /no/such/thing") == 1, content  # no server access log
    if served.server == "hypercorn":
        # hypercorn's own logger, through the service's handler, once.
        assert content.count("Running on") == 1, content
        (started,) = [line for line in lines if "Running on" in line["message"]]
        assert started["logger"] == "hypercorn.error"


def test_unknown_path_is_a_json_404(base_url: str) -> None:
    reply = http(f"{base_url}/no/such/thing")

    assert_json_error(reply, 404)
    assert reply.headers["x-request-id"]


def test_wrong_method_is_a_json_405(base_url: str) -> None:
    reply = http(f"{base_url}/", method="DELETE")

    assert_json_error(reply, 405)
    assert "GET" in reply.headers["allow"]


@pytest.mark.parametrize("kind", ["quart run", "make serve"])
def test_bad_settings_file_stops_startup_naming_it(
    kind: str, bake: Bake, installed: Installed, tmp_path: Path
) -> None:
    project = bake("default")
    venv = installed("default", python_of("default"))
    bad = tmp_path / "broken settings.yml"
    bad.write_text("MAX_CONTENT_LENGTH: [1, 2\n")
    env = {**os.environ, "QUART_SETTINGS": str(bad), "QUART_APP": project.name}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    port = str(free_port())
    if kind == "quart run":
        args = ["quart", "run", "--port", port]
    else:
        args = ["make", "serve", f"BIND=127.0.0.1:{port}", f"VENV={venv}"]

    result = run(args, cwd=project, env=env, timeout=60)

    assert result.returncode != 0
    if kind == "quart run":  # the development server shows the traceback
        output = result.stdout + result.stderr
        assert f"SettingsError: settings file {bad} is not valid YAML" in output
    else:  # make serve: one line, from the preflight checks
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"error: settings file {bad} is not valid YAML")
        assert "Traceback" not in result.stderr


BINDS = {
    "127.0.0.1:8000": ["--host", "127.0.0.1", "--port", "8000"],
    "0.0.0.0:8080": ["--host", "0.0.0.0", "--port", "8080"],
    "[::1]:9000": ["--host", "::1", "--port", "9000"],
    "unix:/run/svc/svc.sock": ["--uds", "/run/svc/svc.sock"],
}


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
@pytest.mark.parametrize("bind", list(BINDS))
def test_bind_is_taken_apart_for_servers_without_a_bind_option(
    pristine: Bake, server: str, bind: str
) -> None:
    project = pristine(SERVER_CONTEXTS[server])

    command = serve_command(project, Path("/venv"), BIND=bind).split()

    flags = BINDS[bind]
    found = [i for i in range(len(command)) if command[i : i + len(flags)] == flags]
    assert found, command
