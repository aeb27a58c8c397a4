"""compose.yaml of every bake: valid for the Compose specification's schema
(check-jsonschema's vendored copy), lint-free, and wired as the service needs:
the gateway in front with the bake's own nginx files, nothing started before
what it needs, and the database choice's services and nothing else."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from contexts import DATABASE_CONTEXTS, SLUGS
from gateway import nginx_or_skip
from helpers import Bake, run
from manifests import (
    bind_port,
    get_routes,
    graceful_timeout,
    image_env,
    image_name,
    lint,
    load,
    migrate_command,
    packaged_settings,
)

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
NGINX_DIR = "/etc/nginx/"  # the nginx image's configuration directory
PASSWORD = "${POSTGRES_PASSWORD:-local}"


def services(project: Path) -> dict[str, dict[str, Any]]:
    compose = load(project / "compose.yaml")
    return dict(compose["services"])


def seconds(duration: str) -> float:
    """A Compose duration such as "1m30s", in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def volume_mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """A service's volumes (short syntax): target -> (source, mode)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        mounts[target] = (source, "".join(mode))
    return mounts


def nginx_lines(path: Path) -> list[str]:
    """An nginx file's directives, one a line, without comments or blank lines."""
    lines = (re.sub(r"#.*", "", line).strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_compose_file_matches_the_compose_specification(project: Path) -> None:
    schema = ("--builtin-schema", "vendor.compose-spec")
    result = run([CHECK_JSONSCHEMA, *schema, project / "compose.yaml"], cwd=project)

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_passes_yamllint(project: Path) -> None:
    assert lint(project / "compose.yaml") == []


@pytest.mark.parametrize("database", sorted(DATABASE_CONTEXTS))
def test_each_starts_once_what_it_needs_is_ready_and_no_sooner(
    pristine: Bake, database: str
) -> None:
    project = pristine(DATABASE_CONTEXTS[database])
    compose = load(project / "compose.yaml")
    expected: dict[str, dict[str, str]] = {
        "gateway": {"service": "service_healthy"},
        "service": {},
    }
    if database != "none":
        expected["service"]["migrate"] = "service_completed_successfully"
        expected["migrate"] = {}
    if database == "postgresql":
        expected["service"]["postgres"] = "service_healthy"
        expected["migrate"]["postgres"] = "service_healthy"
        expected["postgres"] = {}

    needs = {
        name: {
            other: condition["condition"]
            for other, condition in service.get("depends_on", {}).items()
        }
        for name, service in compose["services"].items()
    }

    assert needs == expected
    for wants in needs.values():
        for other, condition in wants.items():
            if condition == "service_healthy":
                assert "test" in compose["services"][other]["healthcheck"], other
    assert (
        set(compose.get("volumes", {}))
        == {
            "sqlite": {"data"},
            "postgresql": {"postgres"},
            "none": set(),
        }[database]
    )
    if database == "none":
        text = (project / "compose.yaml").read_text().lower()
        for word in ("database", "migrat", "alembic", "postgres", "sqlite"):
            assert word not in text


def test_the_image_is_the_bakes_own_build_run_locked_down(
    project: Path, context: str
) -> None:
    found = services(project)
    runs_image = [found["service"], *([found["migrate"]] if "migrate" in found else [])]

    for service in runs_image:
        assert service["image"] == image_name(context)
        assert service["build"] == "."
        assert service["read_only"] is True
        assert service["tmpfs"] == ["/tmp"]
        assert service["cap_drop"] == ["ALL"]
        assert service["security_opt"] == ["no-new-privileges:true"]
    assert (project / "Dockerfile").is_file()
    if "migrate" in found:
        assert found["migrate"]["command"] == migrate_command(project)
        assert found["migrate"]["restart"] == "no"


def test_the_service_is_ready_before_the_gateway_starts_and_drains_when_stopped(
    project: Path, context: str
) -> None:
    service = services(project)["service"]
    check = " ".join(service["healthcheck"]["test"])

    assert service["healthcheck"]["test"][:3] == ["CMD", "python", "-c"]
    assert f"'http://127.0.0.1:{bind_port(project)}/readyz'" in check
    assert "/readyz" in get_routes(project, SLUGS[context])
    assert seconds(service["stop_grace_period"]) > graceful_timeout(project)


def test_the_service_trusts_the_gateway_and_sets_only_its_own_settings(
    project: Path, context: str
) -> None:
    slug = SLUGS[context]
    prefix = f"{slug.upper()}_"
    known = packaged_settings(project, slug)

    for name, service in services(project).items():
        if service.get("image") == image_name(context):
            for variable in service.get("environment", {}):
                assert variable.startswith(prefix), (name, variable)
                assert variable.removeprefix(prefix) in known, (name, variable)
    environment = services(project)["service"]["environment"]
    assert environment[f"{prefix}TRUSTED_PROXY_HOPS"] == 1


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_the_migration_and_the_service_use_the_same_database(
    pristine: Bake, database: str
) -> None:
    context = DATABASE_CONTEXTS[database]
    project = pristine(context)
    found = services(project)
    slug = SLUGS[context]
    variable = f"{slug.upper()}_DATABASE_URL"

    if database == "sqlite":
        # The image's database file, on the volume both share.
        directory = Path(image_env(project)[variable].partition(":///")[2]).parent
        for name in ("service", "migrate"):
            assert variable not in found[name].get("environment", {})
            assert volume_mounts(found[name])[str(directory)] == ("data", "")
        return
    postgres = found["postgres"]
    urls = {found[name]["environment"][variable] for name in ("service", "migrate")}
    (url,) = urls
    parts = urlsplit(url.replace(PASSWORD, "password"))
    assert parts.scheme == "postgresql"
    assert (parts.hostname, parts.port) == ("postgres", 5432)
    assert parts.username == postgres["environment"]["POSTGRES_USER"] == slug
    assert parts.path == f"/{postgres['environment']['POSTGRES_DB']}"
    assert PASSWORD in url
    assert postgres["environment"]["POSTGRES_PASSWORD"] == PASSWORD
    assert f"--username={slug}" in postgres["healthcheck"]["test"]
    # PostgreSQL 18's image keeps its data under /var/lib/postgresql/18/:
    # mounted at the old .../data, it refuses to start.
    major = int(postgres["image"].rpartition(":")[2].split(".")[0])
    target = "/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data"
    assert volume_mounts(postgres)[target] == ("postgres", "")


def test_the_gateway_serves_the_bakes_own_nginx_files(
    project: Path, context: str
) -> None:
    slug = SLUGS[context]
    gateway = services(project)["gateway"]
    listens = re.findall(
        r"listen (\d+)", (project / "deploy/compose/gateway.conf").read_text()
    )

    assert volume_mounts(gateway) == {
        "/etc/nginx/conf.d/default.conf": ("./deploy/compose/gateway.conf", "ro"),
        f"/etc/nginx/conf.d/{slug}.upstream.conf": (
            f"./deploy/compose/{slug}.upstream.conf",
            "ro",
        ),
        f"/etc/nginx/locations/{slug}.conf": (f"./deploy/nginx/{slug}.conf", "ro"),
    }
    for source, _ in volume_mounts(gateway).values():
        assert (project / source).is_file(), source
    (published,) = gateway["ports"]
    assert published.startswith("127.0.0.1:")
    assert set(listens) == {published.rpartition(":")[2]}


def test_the_compose_upstream_is_deploy_nginx_s_but_for_the_address(
    project: Path, context: str
) -> None:
    slug = SLUGS[context]
    ours = nginx_lines(project / "deploy" / "compose" / f"{slug}.upstream.conf")
    theirs = nginx_lines(project / "deploy" / "nginx" / f"{slug}.upstream.conf")

    def address(lines: list[str]) -> list[str]:
        return [line for line in lines if line.startswith("server ")]

    assert address(ours) == [f"server service:{bind_port(project)};"]
    assert "service" in services(project)
    assert len(address(theirs)) == 1
    assert [line for line in ours if line not in address(ours)] == [
        line for line in theirs if line not in address(theirs)
    ]


def test_the_gateway_configuration_passes_nginx_t_with_every_file_included(
    project: Path, tmp_path: Path
) -> None:
    """The files laid out as compose.yaml mounts them, under the stock
    nginx.conf's `include conf.d/*.conf`; the service's address on loopback,
    since nginx looks it up."""
    nginx = nginx_or_skip()
    copies = []
    for target, (source, _) in volume_mounts(services(project)["gateway"]).items():
        copy = tmp_path / target.removeprefix(NGINX_DIR)
        copy.parent.mkdir(parents=True, exist_ok=True)
        text = (project / source).read_text().replace(NGINX_DIR, f"{tmp_path}/")
        copy.write_text(text.replace("server service:", "server 127.0.0.1:"))
        copies.append(copy)
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        "events {}\n"
        f"http {{ include {tmp_path}/conf.d/*.conf; }}\n"
    )

    result = run(
        [nginx, "-T", "-p", f"{tmp_path}/", "-c", config, "-e", tmp_path / "error.log"],
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    for copy in copies:  # -T prints each file it read
        assert f"# configuration file {copy}:" in result.stdout
