"""The Kubernetes manifests of every bake (deploy/k8s) in agreement with the
service they run: probes and ports on its routes and its BIND port, announced
to Prometheus; the readiness probe's timeout and the grace period against its
settings; its settings from the ConfigMap, read-only, loaded by its own loader;
and per database choice, the URL, the migration, the pods' count and
PostgreSQL's connections. Their validity as Kubernetes resources is
test_k8s_manifests.py's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contexts import DATABASE_CONTEXTS, SLUGS, python_of
from helpers import Bake, check, venv_env
from manifests import (
    Manifests,
    bind_port,
    configmap_settings,
    containers,
    env_of,
    get_routes,
    graceful_timeout,
    image_env,
    k8s_files,
    migrate_command,
    mounts_of,
    packaged_settings,
    read_manifests,
    server,
)

PROBES = {
    "startupProbe": "/healthz",
    "livenessProbe": "/healthz",
    "readinessProbe": "/readyz",
}
# PostgreSQL's default max_connections, less those kept for superusers.
POSTGRESQL_CONNECTIONS = 100 - 3

Installed = Callable[[str, str], Path]


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
            " print(json.dumps(load_settings().model_dump(mode='json')))",
        ],
        cwd=tmp_path,
        env=venv_env(python.parent.parent, **variables),
    )

    # The loader refuses a key it does not know; the packaged file names them.
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
