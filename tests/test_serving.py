"""The default bake served for real on loopback, every way a user starts it:
`QUART_APP=<slug> quart run` from the project root, as in the book, `make run`
(the same with reload) and `make serve` (hypercorn), on the oldest and the
newest Python offered (Quart 0.22 and 0.23). Each answers GET / and JSON 404
and 405 errors; a bad settings file stops each with the file's name."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contexts import PYTHONS, python_of
from helpers import Bake, Reply, free_port, http, run, serving

Installed = Callable[[str, str], Path]


def served_by(kind: str, project: Path, venv: Path, log: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("QUART_SETTINGS", None)
    if kind == "quart run":
        args = ["quart", "run", "--host", "127.0.0.1", "--port", str(port)]
        env["QUART_APP"] = project.name
    elif kind == "make run":
        args = ["make", "run", f"PORT={port}", f"VENV={venv}"]
    else:
        args = ["make", "serve", f"BIND=127.0.0.1:{port}", f"VENV={venv}"]
    with serving(args, cwd=project, env=env, log=log, ready_url=f"{base}/"):
        yield base


KINDS = ["quart run", "make run", "make serve"]
SERVED = [(kind, python) for python in (PYTHONS[0], PYTHONS[-1]) for kind in KINDS]


@pytest.fixture(scope="module", params=SERVED, ids=[f"{k}-py{p}" for k, p in SERVED])
def base_url(
    request: pytest.FixtureRequest,
    bake: Bake,
    installed: Installed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    kind, python = request.param
    project = bake("default")
    venv = installed("default", python)
    log = tmp_path_factory.mktemp("serving") / "server.log"
    yield from served_by(kind, project, venv, log)


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


def test_unknown_path_is_a_json_404(base_url: str) -> None:
    assert_json_error(http(f"{base_url}/no/such/thing"), 404)


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
    output = result.stdout + result.stderr
    assert f"SettingsError: settings file {bad} is not valid YAML" in output
