"""Each bake passes its own linters, type checker and tests, through its own
Makefile, on the oldest Python it supports (the default bake's tests run
under tox, on 3.11 and 3.13: test_tox_precommit.py); 3.13 brings Quart 0.23,
older ones Quart 0.22."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from contexts import (
    AUTH_CONTEXTS,
    CHECK_RUNS,
    PYTHONS,
    SERVER_CONTEXTS,
    SLUGS,
    answer,
    python_of,
)
from helpers import (
    UV,
    Bake,
    Venv,
    check,
    free_port,
    http,
    load_hook,
    python_or_skip,
    run,
    serving,
)
from token_dealer import SigningKey, jwt_settings

Installed = Callable[[str, str], Path]
LINT_RUNS = [
    (context, python) for context, python in CHECK_RUNS if python == python_of(context)
]


def make(project: Path, venv: Path, *targets: str) -> str:
    return check(
        ["make", "--no-print-directory", *targets, f"VENV={venv}"], cwd=project
    )


def selected(request: pytest.FixtureRequest, test: str) -> list[dict[str, Any]]:
    """The parameters of the runs of `test` this session will run."""
    return [
        item.callspec.params
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == test
    ]


# A make run: its targets, the context and the Python.
Job = tuple[str, str, str]


@pytest.fixture(scope="module")
def made(
    request: pytest.FixtureRequest, bake: Bake, installed: Installed
) -> dict[Job, Future[str]]:
    """`make test`, and `make lint typecheck`, of every selected (context,
    python), two at a time, the tests first (the longest).

    Each is one single-threaded process, and the rest of the suite leaves a
    core idle most of the time: two at once take little longer than one. The
    shared virtualenvs are installed into first, one at a time.
    """
    jobs = [("test", p["context"], p["python"]) for p in selected(request, TESTED)]
    jobs += [
        ("lint typecheck", p["context"], p["python"]) for p in selected(request, LINTED)
    ]
    venvs = {
        (context, python): installed(context, python) for _, context, python in jobs
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        return {
            job: pool.submit(make, bake(job[1]), venvs[job[1:]], *job[0].split())
            for job in jobs
        }


TESTED = "test_pytest_with_coverage"
LINTED = "test_ruff_and_mypy_strict"


@pytest.mark.parametrize(
    ("context", "python"), CHECK_RUNS, ids=[f"{c}-py{p}" for c, p in CHECK_RUNS]
)
def test_pytest_with_coverage(
    made: dict[Job, Future[str]], context: str, python: str
) -> None:
    output = made["test", context, python].result()

    assert f"Python {python}." in output  # pytest's header: the Python asked for
    # The summary line names only passes: no failure, error, skip or warning.
    # pytest adds "(0:01:05)" after a minute.
    passed = r"^=+ \d+ passed in [\d.]+s(?: \(\d+:\d\d:\d\d\))? =+$"
    assert re.search(passed, output, re.MULTILINE)
    # make test enforces 90 %; the code as baked is covered completely.
    assert re.search(r"^TOTAL .* 100%$", output, re.MULTILINE)


@pytest.mark.parametrize("python", PYTHONS, ids=[f"py{p}" for p in PYTHONS])
def test_each_python_gets_the_quart_it_supports(venv: Venv, python: str) -> None:
    probe = "import importlib.metadata as m; print(m.version('quart'))"
    version = check([venv(python) / "bin" / "python", "-c", probe], cwd=Path.cwd())

    expected = "0.23." if python == "3.13" else "0.22."
    assert version.startswith(expected)


@pytest.mark.parametrize(
    ("context", "python"), LINT_RUNS, ids=[f"{c}-py{p}" for c, p in LINT_RUNS]
)
def test_ruff_and_mypy_strict(
    made: dict[Job, Future[str]], context: str, python: str
) -> None:
    output = made["lint typecheck", context, python].result()

    assert "All checks passed!" in output
    assert "already formatted" in output
    assert "Success: no issues found" in output


@pytest.mark.parametrize("python", PYTHONS, ids=[f"py{p}" for p in PYTHONS])
def test_no_installed_import_name_is_a_valid_slug(venv: Venv, python: str) -> None:
    """A slug equal to a package the service installs would shadow it."""
    probe = (
        "import importlib.metadata as m, json;"
        " print(json.dumps(sorted(m.packages_distributions())))"
    )
    python_bin = venv(python) / "bin" / "python"
    names = json.loads(check([python_bin, "-c", probe], cwd=Path.cwd()))
    rules = load_hook("pre_gen_project")

    baked = set(SLUGS.values())
    takeable = [n for n in names if n not in baked and rules.check_slug(n) is None]

    assert takeable == [], f"add {takeable} to RESERVED_NAMES in the pre-gen hook"


# Each asgi_server's bake on its oldest Python; hypercorn's is the one with
# auth=jwt, which adds PyJWT's bound to the default bake's.
LOWEST_RUNS = [
    (server, AUTH_CONTEXTS["jwt"] if server == "hypercorn" else context)
    for server, context in SERVER_CONTEXTS.items()
]
assert answer(AUTH_CONTEXTS["jwt"], "asgi_server") == "hypercorn"


@pytest.fixture(scope="module")
def lowest_runs(
    request: pytest.FixtureRequest,
    bake: Bake,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Future[None]]:
    """Every selected run of the test below, two at a time (see `made`)."""
    servers = sorted({p["server"] for p in selected(request, LOWEST)})
    contexts = dict(LOWEST_RUNS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return {
            server: pool.submit(
                check_lowest,
                bake(contexts[server]),
                contexts[server],
                tmp_path_factory.mktemp(f"venv-lowest-{server}"),
            )
            for server in servers
        }


LOWEST = "test_lowest_allowed_dependencies_pass_every_check_and_serve"


@pytest.mark.parametrize(
    ("server", "context"),
    LOWEST_RUNS,
    ids=[f"{server}-py{python_of(context)}" for server, context in LOWEST_RUNS],
)
def test_lowest_allowed_dependencies_pass_every_check_and_serve(
    lowest_runs: dict[str, Future[None]], server: str, context: str
) -> None:
    """The lower bounds are true: with the oldest release each bound allows
    (uv's lowest-direct resolution), each asgi_server's bake passes its own
    tests and `make serve` answers; the jwt bake's also its lint and type
    check (ruff's and mypy's bounds are every bake's)."""
    python_or_skip(python_of(context))
    lowest_runs[server].result()


def check_lowest(project: Path, context: str, venv: Path) -> None:
    """The checks of the test above, for one bake, in a virtualenv of its own."""
    interpreter = python_or_skip(python_of(context))
    python_bin = venv / "bin" / "python"
    check([UV, "venv", "--quiet", "--python", interpreter, venv], cwd=venv)
    lowest = ["--resolution", "lowest-direct", "--editable", f"{project}[dev]"]
    check([UV, "pip", "install", "--quiet", "--python", python_bin, *lowest], cwd=venv)

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    meta = pyproject["project"]
    for requirement in meta["dependencies"] + meta["optional-dependencies"]["dev"]:
        match = re.fullmatch(r"([\w-]+)(?:\[[\w,]+\])?>=([\w.]+),<.*", requirement)
        assert match, requirement
        name, lowest_version = match.groups()
        assert Version(installed_version(python_bin, name)) == Version(lowest_version)

    # ruff and mypy are the same whichever the server: at their lowest, once.
    checks = ["lint", "typecheck"] if context == AUTH_CONTEXTS["jwt"] else []
    make(project, venv, "test", *checks)
    if answer(context, "database") == "sqlite":
        assert_make_migration_writes_a_clean_revision(project, venv, SLUGS[context])
    port = free_port()
    slug = SLUGS[context]
    env = {**os.environ}
    if answer(context, "auth") == "jwt":  # it refuses to start without them
        for name, value in jwt_settings(SigningKey(), slug).items():
            env[f"{slug.upper()}_{name}"] = value
    with serving(
        ["make", "serve", f"BIND=127.0.0.1:{port}", f"VENV={venv}"],
        cwd=project,
        env=env,
        log=venv / "serve.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    ):
        assert http(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}


def assert_make_migration_writes_a_clean_revision(
    project: Path, venv: Path, slug: str
) -> None:
    """`make migration` with the oldest Alembic allowed: the revision it writes
    (none of the models changed: an empty one) goes through alembic.ini's
    post-write hooks (the `module` runner, new in Alembic 1.16.3) and passes
    ruff. On a database of its own; the revision is removed afterwards."""
    versions = project / slug / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    url = f"sqlite+aiosqlite:///{venv / 'migration-check.sqlite3'}"
    env = {**os.environ, f"{slug.upper()}_DATABASE_URL": url}
    try:
        for target in ("migrate", "migration"):
            args = ["make", target, f"VENV={venv}", "MSG=nothing changed"]
            result = run(args, project, env)
            assert result.returncode == 0, result.stdout + result.stderr
        [revision] = set(versions.glob("*.py")) - before
        for check_ in (["check"], ["format", "--check"]):
            assert (
                run([venv / "bin" / "ruff", *check_, revision], project).returncode == 0
            )
    finally:
        for added in set(versions.glob("*.py")) - before:
            added.unlink()
            for compiled in versions.glob(f"__pycache__/{added.stem}.*"):
                compiled.unlink()


def installed_version(python_bin: Path, distribution: str) -> str:
    probe = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return check([python_bin, "-c", probe], cwd=python_bin.parent).strip()


# Loads hypercorn.toml as hypercorn does and reports each key hypercorn's
# Config lacks (hypercorn accepts unknown keys silently) and the loaded values.
HYPERCORN_PROBE = """\
import json, sys, tomllib
from hypercorn.config import Config
path = sys.argv[1]
with open(path, "rb") as file:
    keys = tomllib.load(file)
config = Config.from_toml(path)
unknown = [key for key in keys if not hasattr(Config, key)]
print(json.dumps({"unknown": unknown, "bind": config.bind, "workers": config.workers,
    "worker_class": config.worker_class, "umask": config.umask,
    "graceful_timeout": config.graceful_timeout,
    "keep_alive_timeout": config.keep_alive_timeout,
    "max_requests": config.max_requests, "accesslog": config.accesslog,
    "include_server_header": config.include_server_header}))
"""


def test_hypercorn_toml_keys_are_hypercorns_own(
    bake: Bake, installed: Installed
) -> None:
    venv = installed("default", python_of("default"))
    path = bake("default") / "hypercorn.toml"

    output = check([venv / "bin" / "python", "-c", HYPERCORN_PROBE, path], path.parent)

    loaded = json.loads(output)
    assert loaded["unknown"] == []
    assert loaded["bind"] == ["127.0.0.1:8000"]
    # One process (the app in hypercorn's main process), never recycled: a
    # single process that exits after max_requests would take the service down.
    assert (loaded["workers"], loaded["worker_class"]) == (0, "uvloop")
    assert loaded["max_requests"] is None
    assert loaded["umask"] == 0o117  # a unix socket is 0o660
    assert loaded["graceful_timeout"] == 30
    # Above nginx's upstream keepalive_timeout (20 s), and short.
    assert 20 < loaded["keep_alive_timeout"] <= 30
    assert loaded["accesslog"] is None
    assert loaded["include_server_header"] is False
