"""The default bake served for real on loopback, every way a user starts it:
`QUART_APP=<slug> quart run` from the project root, as in the book, `make run`
(the same with reload) and `make serve` (hypercorn). Each answers GET / and
JSON 404 and 405 errors."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contexts import python_of
from helpers import Bake, Reply, free_port, http, serving

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


@pytest.fixture(scope="module", params=["quart run", "make run", "make serve"])
def base_url(
    request: pytest.FixtureRequest,
    bake: Bake,
    installed: Installed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    context = "default"
    project = bake(context)
    venv = installed(context, python_of(context))
    log = tmp_path_factory.mktemp("serving") / "server.log"
    yield from served_by(request.param, project, venv, log)


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
