"""What test_k8s_manifests.py, test_k8s_service.py and test_compose.py read
off a bake: its YAML, lint-checked, deploy/k8s's resources and their parts, and
the facts of the service the manifests must agree with, each taken from the
file that decides it (Dockerfile, Makefile, hypercorn.toml, the code)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from contexts import SLUGS, answer
from dockerfile import environment, final_stage

# yamllint's defaults, strict: every problem fails, warnings included. No
# `---` (one document a file), 88 columns except for a value that cannot be
# broken (an image, a bind mount), no unused anchor, no octal look-alike.
YAMLLINT = YamlLintConfig(
    """
extends: default
rules:
  document-start: {present: false}
  line-length: {max: 88, allow-non-breakable-inline-mappings: true}
  anchors: {forbid-unused-anchors: true}
  octal-values: {forbid-implicit-octal: true, forbid-explicit-octal: true}
"""
)


def lint(path: Path) -> list[str]:
    """yamllint's problems with a file, one line each."""
    text = path.read_text(encoding="utf-8")
    return [
        f"{path.name}:{problem.line}:{problem.column} {problem.desc} ({problem.rule})"
        for problem in linter.run(text, YAMLLINT)
    ]


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path} is not a mapping"
    return document


Manifests = dict[str, dict[str, Any]]  # kind -> the one resource of that kind


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


def image_tag(context: str) -> str:
    """The tag of the service's image: its version, with `+` and `!` (which
    no image tag may hold) as `-`."""
    return re.sub(r"[+!]", "-", answer(context, "version"))


def image_name(context: str) -> str:
    """The image the manifests run: a local build's, as podman names it."""
    return f"localhost/{SLUGS[context]}:{image_tag(context)}"


def image_env(project: Path) -> dict[str, str]:
    """The environment the image sets (its Dockerfile's ENV)."""
    return environment(final_stage(project / "Dockerfile"))


def image_user(project: Path) -> tuple[int, int]:
    """The image's USER, as numbers: (uid, gid)."""
    stage = final_stage(project / "Dockerfile")
    (user,) = [arguments for keyword, arguments in stage if keyword == "USER"]
    uid, gid = user.split(":")
    return int(uid), int(gid)


def bind_port(project: Path) -> int:
    """The port the image's server listens on (its BIND)."""
    return int(image_env(project)["BIND"].rpartition(":")[2])


def graceful_timeout(project: Path) -> float:
    """The longest a stopping server lets requests finish: hypercorn.toml's
    graceful_timeout, else GRACEFUL_TIMEOUT in the image or the Makefile."""
    found: list[float] = []
    hypercorn = project / "hypercorn.toml"
    if hypercorn.is_file():
        found.append(tomllib.loads(hypercorn.read_text())["graceful_timeout"])
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    found += map(float, re.findall(r"^GRACEFUL_TIMEOUT \?= (\d+)$", makefile, re.M))
    if "GRACEFUL_TIMEOUT" in image_env(project):
        found.append(float(image_env(project)["GRACEFUL_TIMEOUT"]))
    assert found, f"no graceful timeout in {project}"
    return max(found)


def migrate_command(project: Path) -> list[str]:
    """The command `make migrate` runs, without the virtualenv's path."""
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^migrate:.*\n\t\$\(BIN\)/(.+)$", makefile, re.M)
    assert recipe, "no migrate target in the Makefile"
    return recipe[1].split()


def get_routes(project: Path, slug: str) -> set[str]:
    """The paths the service's code answers GET on (`@blueprint.get("/x")`)."""
    return {
        route
        for module in (project / slug).rglob("*.py")
        for route in re.findall(r'@\w+\.get\("(/[^"]*)"\)', module.read_text())
    }


def packaged_settings(project: Path, slug: str) -> dict[str, Any]:
    return load(project / slug / "settings.yml")
