"""compose.yaml and deploy/k8s run for real, with podman, on the default
bake's image (containers.py, built once per session).

- Compose: podman-compose brings up the gateway, the migration and the
  service, the images swapped for the session's through an override file
  (as a CI would point them at its registry), and `/api/<slug>/` answers
  `{}` through the gateway on loopback.
- Kubernetes: `podman kube play` runs the ConfigMap, the volume claim and
  the Deployment (pods.py: played in the background once the image exists);
  the init container migrates, and the pod's server answers `/readyz`.

podman 4.3 (Debian 12's) cannot wait for a healthy container, so
podman-compose starts the gateway once the service has started rather than
once it is healthy (it says so in a warning): the test asks the gateway until
it answers. The migration's `service_completed_successfully` holds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from contexts import SLUGS
from helpers import TEMPLATE_DIR, Bake, free_port, http, json_lines, run
from pods import Pod

pytestmark = pytest.mark.container

CONTEXT = "default"
SLUG = SLUGS[CONTEXT]
REQUEST_ID = "compose-test-request"
PODMAN_COMPOSE = TEMPLATE_DIR / ".venv/bin/podman-compose"


def wait_for(url: str, timeout: float = 120) -> Any:
    """The JSON of the first 200 `url` answers."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            reply = http(url, timeout=5)
        except OSError as error:
            last = error
        else:
            if reply.status == 200:
                return reply.json()
            last = reply
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered 200: {last}")


def test_compose_serves_the_service_through_its_gateway(
    pristine: Bake,
    podman: dict[str, str],
    container_image: str,
    gateway_image: str,
    tmp_path: Path,
) -> None:
    project = pristine(CONTEXT)
    override = tmp_path / "images.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "services": {
                    "gateway": {"image": gateway_image},
                    "service": {"image": container_image},
                    "migrate": {"image": container_image},
                }
            }
        )
    )
    name = f"compose-test-{tmp_path.name}".replace("_", "-").lower()
    port = free_port()
    env = {**podman, "GATEWAY_PORT": str(port)}
    compose = [
        *(str(PODMAN_COMPOSE), "--project-name", name),
        *("--file", str(project / "compose.yaml"), "--file", str(override)),
    ]
    try:
        started = run([*compose, "up", "-d"], project, env, timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        body = wait_for(f"http://127.0.0.1:{port}/api/{SLUG}/")
        traced = http(
            f"http://127.0.0.1:{port}/api/{SLUG}/", headers={"X-Request-ID": REQUEST_ID}
        )
        migrated = inspect(podman, f"{name}_migrate_1")
        logs = run(["podman", "logs", f"{name}_service_1"], tmp_path, podman).stderr
    finally:
        run([*compose, "down", "--volumes"], project, env, timeout=120)

    assert body == {}
    # The migration ran to completion before the service started.
    assert migrated["State"]["ExitCode"] == 0
    # The caller's request ID went through the gateway both ways.
    assert {k.lower(): v for k, v in traced.headers.items()}[
        "x-request-id"
    ] == REQUEST_ID
    (access,) = [
        line
        for line in json_lines(logs)
        if line.get("request_id") == REQUEST_ID and line["logger"] == f"{SLUG}.access"
    ]
    assert (access["path"], access["status"]) == (f"/api/{SLUG}/", 200)


def inspect(podman: dict[str, str], container: str) -> dict[str, Any]:
    result = run(["podman", "inspect", container], Path.cwd(), podman)
    assert result.returncode == 0, result.stderr
    (found,) = json.loads(result.stdout)
    return dict(found)


def test_kube_play_runs_the_pod_until_ready(
    podman: dict[str, str], kube_pod: Pod, tmp_path: Path
) -> None:
    probe = (
        "import urllib.request as u;"
        " print(u.urlopen('http://127.0.0.1:8000/readyz', timeout=3).read().decode())"
    )
    deadline = time.monotonic() + 60
    while True:
        answer = run(
            ["podman", "exec", kube_pod.server, "python", "-c", probe], tmp_path, podman
        )
        if answer.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    migration = inspect(podman, kube_pod.init)
    state = inspect(podman, kube_pod.server)

    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert json.loads(answer.stdout) == {
        "status": "ready",
        "checks": {"database": "ok"},
    }
    # The init container migrated the claim's database first.
    assert migration["State"]["ExitCode"] == 0
    # As the manifests ask: the image's user, a read-only root.
    assert state["Config"]["User"] in ("10001", "10001:10001")
    assert state["HostConfig"]["ReadonlyRootfs"] is True
