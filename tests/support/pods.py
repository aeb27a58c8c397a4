"""deploy/k8s played with `podman kube play`, on the session's image.

podman kube play takes ConfigMaps, volume claims and Deployments, and refuses
a file holding only kinds it does not know (Service, HPA, ...): the play
gets the ConfigMap, the claim and the Deployment, with the containers'
image swapped for the session's, as an overlay's `images:` would.

podman 4.3 (Debian 12's) needs two allowances, both here and not in the
shipped manifests: it removes a short-lived init container of the default
type ("once") while it may still run and fails the play, so the init
container is kept (podman's init-container-type annotation); and it waits
about 20 s for that container's exit ("Exceeded conmon timeout"), sometimes
much longer, so the play runs in the background from the moment the image
exists (images.py), and the test only looks at the pod it made.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

PLAYED = ("configmap.yaml", "pvc.yaml", "deployment.yaml")
INIT_TYPE = "io.podman.annotations.init.container.type"


@dataclass(frozen=True)
class Pod:
    played: Path  # the YAML given to podman kube play
    deployment: str
    server: str  # the server container's name
    init: str  # the init container's name (the migration)
    volumes: tuple[str, ...]  # the podman volumes the play made


def podman(env: Mapping[str, str], *args: str | Path) -> str:
    """A podman command that must succeed; its output."""
    result = subprocess.run(
        ["podman", *map(str, args)], env=dict(env), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"podman {args} exited {result.returncode}:\n{result.stderr}"
        )
    return result.stdout


def play(project: Path, image: str, env: Mapping[str, str], directory: Path) -> Pod:
    """Play the project's Deployment (with its ConfigMap and claim)."""
    manifests = project / "deploy" / "k8s"
    documents = [yaml.safe_load((manifests / name).read_text()) for name in PLAYED]
    deployment = documents[-1]
    spec = deployment["spec"]["template"]["spec"]
    for container in spec["containers"] + spec["initContainers"]:
        container["image"] = image
    # podman 4.3 reads it from the Deployment's own metadata.
    deployment["metadata"].setdefault("annotations", {})[INIT_TYPE] = "always"
    played = directory / "play.yaml"
    played.write_text(yaml.safe_dump_all(documents))
    podman(env, "kube", "play", played)
    name = deployment["metadata"]["name"]
    # What the play makes a podman volume of: claims, ConfigMaps, emptyDirs.
    volumes = tuple(
        volume["persistentVolumeClaim"]["claimName"]
        if "persistentVolumeClaim" in volume
        else volume["configMap"]["name"]
        if "configMap" in volume
        else volume["name"]
        for volume in spec["volumes"]
    )
    return Pod(
        played=played,
        deployment=name,
        server=container_named(env, name, spec["containers"][0]["name"]),
        init=container_named(env, name, spec["initContainers"][0]["name"]),
        volumes=volumes,
    )


def container_named(env: Mapping[str, str], deployment: str, container: str) -> str:
    """podman names them <deployment>-pod[-<n>]-<container>."""
    (found,) = [
        name
        for name in podman(env, "ps", "--all", "--format", "{{.Names}}").split()
        if name.startswith(f"{deployment}-pod") and name.endswith(f"-{container}")
    ]
    return found


def tear_down(pod: Pod, env: Mapping[str, str]) -> None:
    """The pod, then the volumes, which podman 4.3's `kube down` leaves."""
    for args in (
        ("kube", "down", pod.played),
        ("volume", "rm", "--force", *pod.volumes),
    ):
        subprocess.run(["podman", *map(str, args)], env=dict(env), capture_output=True)
