"""The Kubernetes manifests of every bake (deploy/k8s) as Kubernetes reads
them: valid for the oldest and the newest Kubernetes whose schemas
kubernetes-validate bundles, strictly (no unknown field), lint-free, listed by
the kustomization and re-pointed by an overlay's `images:`, named as DNS
labels carrying the slug, their selectors picking the server's pods only, and
every pod and container locked down. Their agreement with the service they run
is test_k8s_service.py's."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from contexts import SLUGS
from helpers import check
from manifests import (
    Manifests,
    containers,
    image_name,
    image_user,
    k8s_files,
    lint,
    load,
    manifest_files,
    pod_specs,
)

VERSIONS = (all_versions()[0], all_versions()[-1])
# A name most resources must have: an RFC 1035 label.
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
PORT_NAME = re.compile(r"(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?")


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_are_valid_on_the_oldest_and_newest_kubernetes(
    project: Path, version: str
) -> None:
    for path in manifest_files(project):
        try:
            kubernetes_validate.validate(load(path), version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(map(str, error.path))
            pytest.fail(f"{path.name}, Kubernetes {version}: {where}: {error.message}")


def test_manifests_pass_yamllint(project: Path) -> None:
    assert [problem for path in k8s_files(project) for problem in lint(path)] == []


def test_kustomization_lists_exactly_the_manifests(project: Path) -> None:
    kustomization = load(project / "deploy" / "k8s" / "kustomization.yaml")

    assert kustomization["resources"] == [p.name for p in manifest_files(project)]


def test_an_overlay_builds_and_points_every_container_at_its_image(
    project: Path, context: str, manifests: Manifests, tmp_path: Path
) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: no `kubectl kustomize` build")
    image = f"registry.example.com/team/{SLUGS[context]}"
    local = image_name(context).rpartition(":")[0]
    overlay = {
        "resources": [os.path.relpath(project / "deploy" / "k8s", tmp_path)],
        "images": [{"name": local, "newName": image, "newTag": "9.9.9"}],
    }
    (tmp_path / "kustomization.yaml").write_text(json.dumps(overlay))

    built = list(yaml.safe_load_all(check([kubectl, "kustomize", "."], tmp_path)))

    assert sorted(resource["kind"] for resource in built) == sorted(manifests)
    images = {
        container["image"]
        for resource in built
        if resource["kind"] in ("Deployment", "Job")
        for container in containers(resource["spec"]["template"]["spec"])
    }
    assert images == {f"{image}:9.9.9"}


def test_every_container_runs_the_local_build(
    context: str, manifests: Manifests
) -> None:
    for pod in pod_specs(manifests):
        for container in containers(pod):
            assert container["image"] == image_name(context)


def test_names_are_valid_and_carry_the_slug(context: str, manifests: Manifests) -> None:
    name = SLUGS[context].replace("_", "-")

    for resource in manifests.values():
        assert DNS_LABEL.fullmatch(resource["metadata"]["name"]), resource["kind"]
        assert resource["metadata"]["name"].startswith(name)
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler"):
        if kind in manifests:
            assert manifests[kind]["metadata"]["name"] == name
    for pod in pod_specs(manifests):
        for container in containers(pod):
            assert DNS_LABEL.fullmatch(container["name"])
            for port in container.get("ports", []):
                assert PORT_NAME.fullmatch(port["name"])


def test_selectors_pick_the_servers_pods_and_no_other(manifests: Manifests) -> None:
    """A migration pod picked by the Service would get requests it never answers."""
    deployment = manifests["Deployment"]["spec"]
    pods = deployment["template"]["metadata"]["labels"]
    spreads = deployment["template"]["spec"].get("topologySpreadConstraints", [])
    selectors = [
        deployment["selector"]["matchLabels"],
        manifests["Service"]["spec"]["selector"],
        *(spread["labelSelector"]["matchLabels"] for spread in spreads),
    ]
    if "PodDisruptionBudget" in manifests:
        budget = manifests["PodDisruptionBudget"]["spec"]
        selectors.append(budget["selector"]["matchLabels"])

    for selector in selectors:
        assert selector.items() <= pods.items()
        if "Job" in manifests:
            others = manifests["Job"]["spec"]["template"]["metadata"]["labels"]
            assert not selector.items() <= others.items()


def test_every_pod_and_container_is_locked_down(
    project: Path, manifests: Manifests
) -> None:
    uid, gid = image_user(project)

    for pod in pod_specs(manifests):
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True
        assert (security["runAsUser"], security["runAsGroup"]) == (uid, gid)
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        # Service links would add <SLUG>_PORT=tcp://... and the like: the
        # prefix of the service's settings.
        assert pod["enableServiceLinks"] is False
        for container in containers(pod):
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
            resources = container["resources"]
            assert set(resources["requests"]) == set(resources["limits"])
            assert set(resources["limits"]) == {"cpu", "memory"}
