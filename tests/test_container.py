"""The baked Dockerfile and .dockerignore, checked and run for real.

Every bake: hadolint passes; the final stage has no build tools, runs as a
numbered user other than root, has a HEALTHCHECK and, for SQLite, keeps the
database in a volume; the image's command runs exactly what `make serve`
runs (both run here with stand-ins for python and the servers recording
their arguments); the build context is exactly what the Dockerfile copies.

The default bake's image, built with podman on a local stand-in for the
official python image (containers.py), runs with a read-only root: /healthz
answers on a published port, the HEALTHCHECK turns healthy, the server is PID
1 and not root, a one-shot `alembic upgrade head` migrates the database
volume the service then uses, and `podman stop` lets a slow request in
flight finish before the server exits 0.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from contexts import CONTEXTS, SERVER_CONTEXTS, SLUGS, answer, python_of
from dockerfile import environment, exec_form, final_stage, instructions
from helpers import Bake, Reply, check, free_port, http, run
from test_shutdown import SLOW_APP

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


def copied_sources(path: Path) -> list[str]:
    """What the Dockerfile's COPY instructions take from the build context."""
    sources = []
    for keyword, arguments in instructions(path):
        words = shlex.split(arguments)
        if keyword == "COPY" and not words[0].startswith("--from"):
            sources += [word.rstrip("/") for word in words[:-1]]
    return sources


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


# For real, with podman.


@pytest.mark.container
@pytest.mark.parametrize("context", CONTEXTS)
def test_build_context_is_what_the_dockerfile_copies(
    pristine: Bake, context: str, podman: dict[str, str], tmp_path: Path
) -> None:
    """.dockerignore lets in what the Dockerfile copies, and nothing a
    developer's checkout holds besides: no .venv, caches, databases, secrets."""
    slug = SLUGS[context]
    project = tmp_path / slug
    shutil.copytree(pristine(context), project)
    for junk in (
        ".venv/bin/python",
        ".git/HEAD",
        ".env",
        f"{slug}/.env",
        f"{slug}/__pycache__/app.cpython-311.pyc",
        "tests/__pycache__/conftest.cpython-311.pyc",
        ".mypy_cache/CACHEDIR.TAG",
        ".coverage",
        f"{slug}.sqlite3",
        f"{slug}.sqlite3-wal",
        "key.pem",
        f"{slug}/server.key",
    ):
        (project / junk).parent.mkdir(parents=True, exist_ok=True)
        (project / junk).write_text("not for the image\n")
    probe = tmp_path / "Containerfile"
    probe.write_text("FROM scratch\nCOPY . /\n")
    seen = tmp_path / "seen"
    iid = tmp_path / "iid"

    try:
        check(
            [
                *("podman", "build", "--file", probe, "--iidfile", iid),
                *("--output", f"type=local,dest={seen}", project),
            ],
            tmp_path,
            podman,
        )
    finally:
        if iid.exists():
            run(["podman", "rmi", "--force", iid.read_text().strip()], tmp_path, podman)

    expected = set()
    for source in copied_sources(dockerfile(project)):
        path = pristine(context) / source
        files = path.rglob("*") if path.is_dir() else [path]
        expected |= {
            f.relative_to(pristine(context)).as_posix() for f in files if f.is_file()
        }
    got = {f.relative_to(seen).as_posix() for f in seen.rglob("*") if f.is_file()}
    assert got == expected


@dataclass
class Container:
    name: str
    url: str
    env: Mapping[str, str]

    def podman(self, *args: str, timeout: float = 60) -> str:
        return check(["podman", *args], Path.cwd(), self.env, timeout)

    def logs(self) -> str:
        result = run(["podman", "logs", self.name], Path.cwd(), self.env)
        return result.stdout + result.stderr

    def inspect(self, template: str) -> str:
        return self.podman("inspect", "--format", template, self.name).strip()


@contextmanager
def started(
    image: str, env: Mapping[str, str], *options: str, command: tuple[str, ...] = ()
) -> Iterator[Container]:
    """A container of `image` with a read-only root and its port 8000 on a
    free loopback port, once /healthz answers; removed (with its anonymous
    volumes) however the test ends."""
    port = free_port()
    container = Container(
        f"quart-template-{uuid.uuid4().hex[:12]}", f"http://127.0.0.1:{port}", env
    )
    try:
        container.podman(
            *("run", "--detach", "--name", container.name, "--read-only"),
            *("--publish", f"127.0.0.1:{port}:8000", *options, image, *command),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                http(f"{container.url}/healthz", timeout=2)
                break
            except OSError:
                running = container.inspect("{{.State.Running}}")
                assert running == "true", f"exited:\n{container.logs()}"
                assert time.monotonic() < deadline, f"no answer:\n{container.logs()}"
                time.sleep(0.2)
        yield container
    finally:
        run(["podman", "rm", "--force", "--volumes", container.name], Path.cwd(), env)


@pytest.fixture(scope="module")
def service(container_image: str, podman: dict[str, str]) -> Iterator[Container]:
    """The image as it is, on a database volume `alembic upgrade head` has
    migrated in a one-shot container first."""
    volume = f"quart-template-{uuid.uuid4().hex[:12]}"
    check(["podman", "volume", "create", volume], Path.cwd(), podman)
    try:
        check(
            [
                *("podman", "run", "--rm", "--read-only"),
                *("--volume", f"{volume}:/data", container_image),
                *("alembic", "upgrade", "head"),
            ],
            Path.cwd(),
            podman,
        )
        with started(container_image, podman, "--volume", f"{volume}:/data") as c:
            yield c
    finally:
        run(["podman", "volume", "rm", "--force", volume], Path.cwd(), podman)


@pytest.mark.container
def test_healthz_answers_on_the_published_port(service: Container) -> None:
    reply = http(f"{service.url}/healthz")

    assert (reply.status, reply.json()) == (200, {"status": "ok"})


@pytest.mark.container
def test_the_healthcheck_turns_healthy(
    service: Container, container_image: str
) -> None:
    configured = service.podman(
        "image", "inspect", "--format", "{{json .Config.Healthcheck}}", container_image
    )

    assert json.loads(configured)["Test"][:3] == ["CMD", "python", "-c"]
    service.podman("healthcheck", "run", service.name)
    assert service.inspect("{{.State.Health.Status}}") == "healthy"


@pytest.mark.container
def test_the_server_is_pid_1_and_not_root(
    service: Container, container_image: str
) -> None:
    user = service.podman(
        "image", "inspect", "--format", "{{.Config.User}}", container_image
    ).strip()
    status = service.podman("exec", service.name, "cat", "/proc/1/status")
    command = service.podman("exec", service.name, "cat", "/proc/1/cmdline")

    assert user == f"{SERVICE_UID}:{SERVICE_UID}"
    assert service.podman("exec", service.name, "id", "-u").strip() == SERVICE_UID
    (uids,) = [
        line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")
    ]
    assert uids == [SERVICE_UID] * 4  # real, effective, saved, file system
    # The shell exec'd the server: SIGTERM goes straight to it.
    assert command.split("\0")[1:3] == ["/opt/venv/bin/hypercorn", "--config"]


@pytest.mark.container
def test_the_root_file_system_is_read_only(service: Container) -> None:
    assert service.inspect("{{.HostConfig.ReadonlyRootfs}}") == "true"
    for path in ("/app/written", "/opt/venv/written", "/written"):
        result = run(
            ["podman", "exec", service.name, "touch", path], Path.cwd(), service.env
        )
        assert result.returncode != 0, path
        assert "Read-only file system" in result.stderr, result.stderr


@pytest.mark.container
def test_the_migrated_database_volume_serves_the_example_resource(
    service: Container,
) -> None:
    created = http(f"{service.url}/items", "POST", json_body={"name": "in a volume"})
    assert created.status == 201, created.body
    item = created.json()

    assert http(f"{service.url}/items/{item['id']}").json() == item
    assert http(f"{service.url}/readyz").status == 200


@pytest.mark.container
def test_no_build_tools_or_sources_in_the_image(service: Container) -> None:
    script = (
        "for tool in gcc cc c++ make ld as; do command -v $tool; done;"
        " ls -d /src /wheels 2>/dev/null;"
        " dpkg-query -W -f '${Package}\\n' build-essential gcc 2>/dev/null;"
        " true"
    )
    found = service.podman("exec", service.name, "sh", "-c", script).split()

    assert found == [], found


@pytest.mark.container
def test_podman_stop_lets_the_request_in_flight_finish(
    container_image: str, podman: dict[str, str], tmp_path: Path
) -> None:
    """SIGTERM reaches the server as PID 1: it drains and exits 0."""
    app = tmp_path / "app"
    app.mkdir(mode=0o755)
    app.chmod(0o755)  # readable by the container's user
    (app / "slow_app.py").write_text(SLOW_APP.format(slug=SLUGS["default"]))
    (app / "slow_app.py").chmod(0o644)
    replies: list[Reply | OSError] = []

    with started(
        container_image,
        podman,
        *("--volume", f"{app}:/srv/slow:ro", "--env", "PYTHONPATH=/srv/slow"),
        *("--env", "APP=slow_app:app"),
    ) as container:

        def slow_request() -> None:
            try:
                replies.append(http(f"{container.url}/slow", timeout=20))
            except OSError as error:
                replies.append(error)

        in_flight = threading.Thread(target=slow_request)
        in_flight.start()
        in_flight.join(timeout=0.7)  # the request reaches the app (2 s there)
        started_at = time.monotonic()
        container.podman("stop", "--time", "20", container.name)
        stopped_in = time.monotonic() - started_at
        in_flight.join(timeout=20)
        exit_code = container.inspect("{{.State.ExitCode}}")
        logs = container.logs()

    assert len(replies) == 1
    reply = replies[0]
    assert isinstance(reply, Reply), f"{reply!r}\n{logs}"
    assert (reply.status, reply.json()) == (200, {"slept": True}), logs
    assert exit_code == "0", logs
    assert stopped_in < 10, logs  # drained, not killed after the timeout
    assert "SIGTERM: draining" in logs
    assert '"serving stopped"' in logs
