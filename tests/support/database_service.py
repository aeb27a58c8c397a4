"""What the database serving tests share: a PostgreSQL cluster from the
postgresql bake's own tests/support/postgres.py (one home for that code), a bake
migrated and served with a DATABASE_URL, and JSON requests to it."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from contexts import DATABASE_CONTEXTS, SLUGS, python_of
from helpers import Bake, Reply, Server, free_port, http, run, serving, venv_env

Installed = Callable[[str, str], Path]

POSTGRES = DATABASE_CONTEXTS["postgresql"]


class Cluster(Protocol):
    """What the tests use of the bake's tests/support/postgres.py PostgresCluster."""

    port: int
    running: bool

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def run(self, tool: str, *args: str) -> None: ...


@dataclass
class Service:
    """A migrated bake served by `make serve`."""

    base: str
    server: Server
    slug: str
    url: str
    migrate_output: str


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """One request with an optional JSON body; header names in lower case,
    whatever the server sends."""
    reply = http(base + path, method, 20, headers, json_body=body)
    headers = {name.lower(): value for name, value in reply.headers.items()}
    return Reply(reply.status, headers, reply.body)


def assert_error(reply: Reply, status: int) -> dict[str, Any]:
    """The reply is a JSON error in the service's one shape; its body."""
    assert reply.status == status, reply
    assert reply.headers["content-type"] == "application/json", reply
    assert b"Traceback" not in reply.body
    body: dict[str, Any] = reply.json()
    assert body["status"] == status
    assert body["error"]
    assert body["message"]
    return body


def all_items(base: str, limit: int = 100, after: int = 0) -> list[dict[str, Any]]:
    """Every item (with an id above `after`), a page at a time, checking that
    the pages chain up."""
    found: list[dict[str, Any]] = []
    while True:
        reply = call(base, "GET", f"/items?limit={limit}&after={after}")
        assert reply.status == 200, reply
        page = reply.json()
        assert len(page["items"]) <= limit
        found += page["items"]
        if page["next"] is None:
            return found
        assert page["next"] == page["items"][-1]["id"]
        after = page["next"]


def load_baked_cluster(pristine: Bake) -> AbstractContextManager[Cluster]:
    """A PostgresCluster from the bake's own tests/support/postgres.py: the cluster
    code has one home. Skips when the machine has no PostgreSQL."""
    path = pristine(POSTGRES) / "tests" / "support" / "postgres.py"
    spec = importlib.util.spec_from_file_location("baked_postgres", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        cluster: AbstractContextManager[Cluster] = module.PostgresCluster()
    except RuntimeError as missing:  # find_binaries: initdb and pg_ctl
        pytest.skip(str(missing))
    return cluster


@contextmanager
def migrated_and_served(
    context: str, bake: Bake, installed: Installed, url: str, log: Path
) -> Iterator[Service]:
    """`make migrate`, then `make serve`, both given DATABASE_URL by env var."""
    project, slug = bake(context), SLUGS[context]
    venv = installed(context, python_of(context))
    env = venv_env(venv, **{f"{slug.upper()}_DATABASE_URL": url})
    migrated = run(["make", "migrate", f"VENV={venv}"], project, env, timeout=120)
    output = migrated.stdout + migrated.stderr
    assert migrated.returncode == 0, output
    assert "Running upgrade" in output  # alembic did create the table
    base = f"http://127.0.0.1:{free_port()}"
    args = ["make", "serve", f"BIND={base.removeprefix('http://')}", f"VENV={venv}"]
    with serving(args, project, env, log, ready_url=f"{base}/healthz") as server:
        yield Service(base, server, slug, url, output)
