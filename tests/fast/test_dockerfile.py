"""The baked Dockerfile and .dockerignore, checked on every bake without
running a container.

hadolint passes; the final stage has no build tools, runs as a numbered user
other than root, has a HEALTHCHECK and, for SQLite, keeps the database in a
volume; every file it copies is in the bake; the image's command runs
exactly what `make serve` runs (both run here with stand-ins for python and
the servers recording their arguments). test_container.py builds and runs
the image.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from contexts import CONTEXTS, SERVER_CONTEXTS, SLUGS, answer, python_of
from dockerfile import (
    copied_sources,
    environment,
    exec_form,
    final_stage,
    instructions,
)
from helpers import Bake, check, run

HADOLINT = Path(sys.executable).with_name("hadolint")
SERVICE_UID = "10001"


def dockerfile(project: Path) -> Path:
    return project / "Dockerfile"


# Static checks, on every bake.


@pytest.mark.parametrize("context", CONTEXTS)
def test_hadolint_finds_nothing(pristine: Bake, context: str, tmp_path: Path) -> None:
    # A config of our own: the user's (~/.config/hadolint.yaml) changes nothing.
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    result = run(
        [
            *(HADOLINT, "--config", config, "--no-color"),
            *("--failure-threshold", "style", dockerfile(pristine(context))),
        ],
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout


@pytest.mark.parametrize("context", CONTEXTS)
def test_final_stage_is_locked_down(pristine: Bake, context: str) -> None:
    project = pristine(context)
    steps = instructions(dockerfile(project))
    stage = final_stage(dockerfile(project))
    keywords = [keyword for keyword, _ in stage]
    text = " ".join(arguments for _, arguments in stage)
    env = environment(stage)
    prefix = SLUGS[context].upper()

    assert steps[0] == ("ARG", f"PYTHON_IMAGE=python:{python_of(context)}-slim")
    assert [args for kw, args in steps if kw == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]
    for tool in ("apt-get", "build-essential", "gcc", "/wheels", "/src"):
        assert tool not in text, f"{tool} in the final stage"
    # A user by number, not root's, set before the command.
    (user,) = [args for kw, args in stage if kw == "USER"]
    assert user == f"{SERVICE_UID}:{SERVICE_UID}"
    assert keywords.index("USER") < keywords.index("CMD")
    (healthcheck,) = [args for kw, args in stage if kw == "HEALTHCHECK"]
    assert json.loads(healthcheck.partition(" CMD ")[2])[:2] == ["python", "-c"]
    assert "/healthz" in healthcheck
    assert [args for kw, args in stage if kw == "STOPSIGNAL"] == ["SIGTERM"]
    assert [args for kw, args in stage if kw == "EXPOSE"] == ["8000"]
    assert env["BIND"] == "0.0.0.0:8000"
    assert env["PYTHONDONTWRITEBYTECODE"] == env["PYTHONUNBUFFERED"] == "1"
    volumes = [args for kw, args in stage if kw == "VOLUME"]
    if answer(context, "database") == "sqlite":
        # The database file in the volume the service's user owns.
        assert env[f"{prefix}_DATABASE_URL"] == (
            f"sqlite+aiosqlite:////data/{SLUGS[context]}.sqlite3"
        )
        assert volumes == ["/data"]
        assert "--owner service" in text
    else:
        # PostgreSQL's URL holds a password: given at run time, never baked.
        assert f"{prefix}_DATABASE_URL" not in env
        assert volumes == []


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_file_copied_is_in_the_bake(pristine: Bake, context: str) -> None:
    project = pristine(context)

    sources = copied_sources(dockerfile(project))

    assert sources
    for source in sources:
        assert (project / source).exists(), source


# The image's command against `make serve`: each runs with `python` and the
# server replaced by a stub that records its arguments and environment.
STUB = """\
#!{python}
import json, os, sys

with open(os.environ["CALLS"], "a") as calls:
    argv = [os.path.basename(sys.argv[0]), *sys.argv[1:]]
    calls.write(json.dumps({{"argv": argv, "env": dict(os.environ)}}) + "\\n")
"""
STUBBED = ("python", "hypercorn", "granian", "uvicorn")
# What a container may be given; the image's own values come first.
VARIABLES = [
    {},
    {"BIND": "unix:/run/service/service.sock"},
    {"BIND": "[::]:9000", "WORKERS": "3", "APP": "slow:app", "GRACEFUL_TIMEOUT": "5"},
]


@dataclass
class Call:
    argv: list[str]
    env: dict[str, str]


def stubs(directory: Path) -> Path:
    bin_ = directory / "bin"
    bin_.mkdir(parents=True)
    for name in STUBBED:
        (bin_ / name).write_text(STUB.format(python=sys.executable))
        (bin_ / name).chmod(0o755)
    return bin_


def calls(path: Path) -> list[Call]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [Call(**json.loads(line)) for line in lines]


@pytest.mark.parametrize("variables", VARIABLES, ids=["defaults", "unix", "ipv6"])
@pytest.mark.parametrize("server", sorted(SERVER_CONTEXTS))
def test_the_image_runs_what_make_serve_runs(
    pristine: Bake, server: str, variables: dict[str, str], tmp_path: Path
) -> None:
    project = pristine(SERVER_CONTEXTS[server])
    stage = final_stage(dockerfile(project))
    image_env = environment(stage)
    given = {name: image_env[name] for name in ("BIND", "WORKERS", "APP")}
    if "GRACEFUL_TIMEOUT" in image_env:
        given["GRACEFUL_TIMEOUT"] = image_env["GRACEFUL_TIMEOUT"]
    given |= variables
    bin_ = stubs(tmp_path / "venv")
    # No XDG_RUNTIME_DIR, as in a container.
    host = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}

    # make serve, as a user runs it.
    host["CALLS"] = str(tmp_path / "make.jsonl")
    assignments = [f"{name}={value}" for name, value in given.items()]
    check(["make", "serve", f"VENV={tmp_path / 'venv'}", *assignments], project, host)
    # The image's command, in the image's environment (PATH aside).
    image = {k: v for k, v in image_env.items() if k != "PATH"} | variables
    image |= {"PATH": f"{bin_}:/usr/bin:/bin", "CALLS": str(tmp_path / "image.jsonl")}
    check(exec_form(stage, "CMD"), tmp_path, image)

    by_make, by_image = calls(tmp_path / "make.jsonl"), calls(tmp_path / "image.jsonl")
    assert [call.argv for call in by_image] == [call.argv for call in by_make]
    assert [call.argv[0] for call in by_make] == ["python", server]
    # What make exports to the server (beyond the variables given), the image
    # sets too: PROMETHEUS_MULTIPROC_DIR for granian's workers, a directory
    # make names after BIND (instances on one host) and the image keeps in
    # its /tmp (one instance a container).
    exported = {
        name
        for name, value in by_make[-1].env.items()
        if host.get(name) != value
        and name not in {*given, "VENV", "MFLAGS"}
        and not name.startswith("MAKE")
    }
    assert exported == ({"PROMETHEUS_MULTIPROC_DIR"} if server == "granian" else set())
    assert exported <= by_image[-1].env.keys()
    if server == "granian":
        assert by_image[-1].env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
