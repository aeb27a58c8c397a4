"""The baked Dockerfile built and run for real, with podman (marked
`container`: run last, on the image made in the background).

Every bake's build context is exactly what the Dockerfile copies. The
default bake's image, built on a local stand-in for the official python
image (containers.py), runs with a read-only root: /healthz answers on a
published port, the HEALTHCHECK turns healthy, the server is PID 1 and not
root, a one-shot `alembic upgrade head` migrates the database volume the
service then uses, and `podman stop` lets a slow request in flight finish
before the server exits 0. test_dockerfile.py has the static checks.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from contexts import CONTEXTS, SLUGS
from dockerfile import (
    copied_sources,
)
from helpers import Bake, Reply, check, free_port, http, run
from slow_app import SLOW_APP

SERVICE_UID = "10001"


def dockerfile(project: Path) -> Path:
    return project / "Dockerfile"


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
