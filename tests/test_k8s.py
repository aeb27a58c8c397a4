"""The Kubernetes manifests of every bake (deploy/k8s): valid for the oldest
and the newest Kubernetes whose schemas kubernetes-validate bundles, strictly
(no unknown field), lint-free, and in agreement with the service they run."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from contexts import DATABASE_CONTEXTS, SLUGS, python_of
from helpers import Bake, check, venv_env
from manifests import (
    bind_port,
    get_routes,
    graceful_timeout,
    image_env,
    image_name,
    image_user,
    lint,
    load,
    migrate_command,
    packaged_settings,
)

VERSIONS = (all_versions()[0], all_versions()[-1])
# A name most resources must have: an RFC 1035 label.
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
PORT_NAME = re.compile(r"(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?")
PROBES = {
    "startupProbe": "/healthz",
    "livenessProbe": "/healthz",
    "readinessProbe": "/readyz",
}
# PostgreSQL's default max_connections, less those kept for superusers.
POSTGRESQL_CONNECTIONS = 100 - 3

Manifests = dict[str, dict[str, Any]]  # kind -> the one resource of that kind
Installed = Callable[[str, str], Path]


def k8s_files(project: Path) -> list[Path]:
    return sorted((project / "deploy" / "k8s").glob("*.yaml"))


def manifest_files(project: Path) -> list[Path]:
    return [path for path in k8s_files(project) if path.name != "kustomization.yaml"]


def read_manifests(project: Path) -> Manifests:
    resources = [load(path) for path in manifest_files(project)]
    kinds = [resource["kind"] for resource in resources]
    assert len(set(kinds)) == len(kinds), kinds
    return dict(zip(kinds, resources, strict=True))


def pod_specs(manifests: Manifests) -> list[dict[str, Any]]:
    """The pods' specs: the Deployment's, and the migration Job's if any."""
    return [
        manifests[kind]["spec"]["template"]["spec"]
        for kind in ("Deployment", "Job")
        if kind in manifests
    ]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def server(manifests: Manifests) -> dict[str, Any]:
    """The container that runs the service."""
    (container,) = manifests["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in container.get("env", [])}


def mounts_of(container: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any]:
    """The container's mount paths, each with its volume."""
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    return {
        mount["mountPath"]: volumes[mount["name"]]
        for mount in container.get("volumeMounts", [])
    }


def configmap_settings(manifests: Manifests) -> dict[str, Any]:
    settings = yaml.safe_load(manifests["ConfigMap"]["data"]["settings.yml"])
    assert isinstance(settings, dict)
    return settings


@pytest.fixture
def manifests(project: Path) -> Manifests:
    return read_manifests(project)


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


def test_probes_and_ports_are_the_services(
    project: Path, context: str, manifests: Manifests
) -> None:
    container = server(manifests)
    routes = get_routes(project, SLUGS[context])

    assert container["ports"] == [{"name": "http", "containerPort": bind_port(project)}]
    for probe, path in PROBES.items():
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}
        assert path in routes
    (port,) = manifests["Service"]["spec"]["ports"]
    assert port["targetPort"] == "http"


def test_pods_announce_their_metrics_to_prometheus(
    project: Path, context: str, manifests: Manifests
) -> None:
    template = manifests["Deployment"]["spec"]["template"]

    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(bind_port(project)),
        "prometheus.io/path": "/metrics",
    }
    assert "/metrics" in get_routes(project, SLUGS[context])


def test_readiness_probe_outlasts_the_readiness_checks(
    project: Path, context: str, manifests: Manifests
) -> None:
    """Else a slow check times the probe out instead of answering 503 naming it."""
    settings = packaged_settings(project, SLUGS[context])
    settings.update(configmap_settings(manifests))

    probe = server(manifests)["readinessProbe"]

    assert probe["timeoutSeconds"] > settings["READINESS_TIMEOUT"]


def test_a_stopping_pod_leaves_the_endpoints_then_drains_in_its_grace_period(
    project: Path, manifests: Manifests
) -> None:
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    command, seconds = server(manifests)["lifecycle"]["preStop"]["exec"]["command"]

    assert command == "sleep"
    assert float(seconds) >= 1
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > float(seconds) + graceful_timeout(project)


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


def test_the_server_writes_only_to_volumes_and_reads_the_configmap(
    manifests: Manifests,
) -> None:
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    container = server(manifests)
    mounts = mounts_of(container, pod)
    settings_file = Path(env_of(container)["QUART_SETTINGS"]["value"])
    configmap = manifests["ConfigMap"]

    for each in containers(pod):
        assert "emptyDir" in mounts_of(each, pod)["/tmp"], each["name"]
    settings = mounts[str(settings_file.parent)]
    assert settings["configMap"] == {"name": configmap["metadata"]["name"]}
    assert list(configmap["data"]) == [settings_file.name]
    (read_only,) = [
        mount.get("readOnly")
        for mount in container["volumeMounts"]
        if mount["mountPath"] == str(settings_file.parent)
    ]
    assert read_only is True


def test_configmap_settings_load_through_the_services_own_loader(
    bake: Bake,
    installed: Installed,
    context: str,
    tmp_path: Path,
) -> None:
    project = bake(context)
    slug = SLUGS[context]
    manifests = read_manifests(project)
    text = manifests["ConfigMap"]["data"]["settings.yml"]
    settings = configmap_settings(manifests)
    settings_file = tmp_path / "settings.yml"
    settings_file.write_text(text)
    # The pod's variables as the container sees them; a Secret's, made up.
    variables = {
        **image_env(project),
        **{
            name: variable.get("value", "postgresql://user:secret@db.invalid/db")
            for name, variable in env_of(server(manifests)).items()
        },
        "QUART_SETTINGS": str(settings_file),
    }
    variables.pop("PATH", None)
    python = installed(context, python_of(context)) / "bin" / "python"

    loaded = check(
        [
            python,
            "-c",
            f"import json; from {slug}.core.settings import load_settings;"
            " print(json.dumps(load_settings(), default=str))",
        ],
        cwd=tmp_path,
        env=venv_env(python.parent.parent, **variables),
    )

    # A key the service does not know would be loaded and ignored: a typo.
    assert set(settings) <= set(packaged_settings(project, slug))
    assert settings.items() <= json.loads(loaded).items()
    assert "DATABASE_URL" not in settings
    assert "://" not in text


@pytest.mark.parametrize("database", sorted(DATABASE_CONTEXTS))
def test_database_url_and_migration_follow_the_database_choice(
    pristine: Bake, database: str
) -> None:
    """PostgreSQL: the URL from a Secret, migrated by a Job. SQLite: the
    image's file on the pod's volume, migrated by an init container before the
    server starts. None: no trace of either."""
    context = DATABASE_CONTEXTS[database]
    project = pristine(context)
    manifests = read_manifests(project)
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    variable = f"{SLUGS[context].upper()}_DATABASE_URL"
    name = SLUGS[context].replace("_", "-")
    text = "\n".join(path.read_text() for path in k8s_files(project))
    migrations: list[dict[str, Any]] = []

    if database == "postgresql":
        secret = {"secretKeyRef": {"name": f"{name}-database", "key": "DATABASE_URL"}}
        (migration,) = manifests["Job"]["spec"]["template"]["spec"]["containers"]
        for container in (server(manifests), migration):
            assert env_of(container)[variable] == {
                "name": variable,
                "valueFrom": secret,
            }
        assert "postgresql://" not in text
        assert "initContainers" not in pod
        migrations.append(migration)
    elif database == "sqlite":
        directory = Path(image_env(project)[variable].partition(":///")[2]).parent
        claim = manifests["PersistentVolumeClaim"]["metadata"]["name"]
        for container in containers(pod):
            volume = mounts_of(container, pod)[str(directory)]
            assert volume["persistentVolumeClaim"] == {"claimName": claim}
            assert variable not in env_of(container)
        assert "Job" not in manifests
        migrations += pod["initContainers"]
    else:
        assert not {"Job", "PersistentVolumeClaim"} & set(manifests)
        assert "initContainers" not in pod
        for word in ("database", "migrat", "alembic", "postgres", "sqlite"):
            assert word not in text.lower()

    for migration in migrations:
        assert migration["command"] == migrate_command(project)
        assert migration["image"] == server(manifests)["image"]


@pytest.mark.parametrize("database", sorted(DATABASE_CONTEXTS))
def test_pods_scale_unless_sqlite_keeps_one(pristine: Bake, database: str) -> None:
    context = DATABASE_CONTEXTS[database]
    manifests = read_manifests(pristine(context))
    deployment = manifests["Deployment"]

    if database == "sqlite":
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        assert not {"HorizontalPodAutoscaler", "PodDisruptionBudget"} & set(manifests)
        claim = manifests["PersistentVolumeClaim"]["spec"]
        assert claim["accessModes"] == ["ReadWriteOnce"]
        return
    # The autoscaler owns the count: a `replicas` would reset it at each apply.
    assert "replicas" not in deployment["spec"]
    rollout = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rollout["maxUnavailable"] == 0
    autoscaler = manifests["HorizontalPodAutoscaler"]["spec"]
    assert autoscaler["scaleTargetRef"] == {
        "apiVersion": deployment["apiVersion"],
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert autoscaler["minReplicas"] == 2 < autoscaler["maxReplicas"]
    # CPU utilisation is measured against the request.
    assert "cpu" in server(manifests)["resources"]["requests"]
    assert manifests["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_postgresql_connections_of_the_most_pods_fit_the_server(
    pristine: Bake,
) -> None:
    context = DATABASE_CONTEXTS["postgresql"]
    project = pristine(context)
    manifests = read_manifests(project)
    settings = packaged_settings(project, SLUGS[context])
    settings.update(configmap_settings(manifests))
    rollout = manifests["Deployment"]["spec"]["strategy"]["rollingUpdate"]

    pods = manifests["HorizontalPodAutoscaler"]["spec"]["maxReplicas"]
    pods += rollout["maxSurge"]
    per_pod = int(image_env(project)["WORKERS"]) * (
        settings["DATABASE_POOL_SIZE"] + settings["DATABASE_MAX_OVERFLOW"]
    )

    assert pods * per_pod + 1 <= POSTGRESQL_CONNECTIONS  # 1: the migration
