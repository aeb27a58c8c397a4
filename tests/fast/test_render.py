"""What each bake contains: no Jinja left, every file valid, the answers
carried through exactly. The files and text each choice brings:
test_choices.py."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from contexts import (
    SLUGS,
    answer,
    option_requirements,
)
from helpers import Bake


def baked_files(project: Path) -> list[Path]:
    return sorted(path for path in project.rglob("*") if path.is_file())


# GitHub Actions' own expressions, which the baked workflow keeps on purpose.
GITHUB_EXPRESSION = re.compile(r"\$\{\{ [^{}]+ \}\}")


def test_no_jinja_left_in_names_or_contents(project: Path) -> None:
    for path in [project, *project.rglob("*")]:
        relative = path.relative_to(project.parent).as_posix()
        for marker in ("{{", "{%", "{#"):
            assert marker not in relative, f"{marker} in file name {relative}"
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                if ".github" in path.relative_to(project).parts:
                    text = GITHUB_EXPRESSION.sub("", text)
                assert marker not in text, f"{marker} left in {relative}"


def test_default_bake_has_exactly_these_files(pristine: Bake) -> None:
    project = pristine("default")
    slug = SLUGS["default"]

    files = {path.relative_to(project).as_posix() for path in baked_files(project)}

    assert files == {
        ".dockerignore",
        ".github/workflows/ci.yml",
        ".gitignore",
        ".pre-commit-config.yaml",
        "Dockerfile",
        "LICENSE",
        "Makefile",
        "README.md",
        "alembic.ini",
        "compose.yaml",
        "deploy/compose/gateway.conf",
        f"deploy/compose/{slug}.upstream.conf",
        "deploy/k8s/configmap.yaml",
        "deploy/k8s/deployment.yaml",
        "deploy/k8s/kustomization.yaml",
        "deploy/k8s/pvc.yaml",
        "deploy/k8s/service.yaml",
        f"deploy/nginx/{slug}.conf",
        f"deploy/nginx/{slug}.upstream.conf",
        f"deploy/systemd/{slug}.service",
        "docs/architecture.md",
        "docs/deploy.md",
        "docs/services.md",
        "docs/serving.md",
        "docs/workflow.md",
        "hypercorn.toml",
        "openapi.json",
        "pyproject.toml",
        f"{slug}/__init__.py",
        f"{slug}/app.py",
        f"{slug}/asgi.py",
        f"{slug}/core/__init__.py",
        f"{slug}/core/database/__init__.py",
        f"{slug}/core/database/schema_revision.py",
        f"{slug}/core/database/session.py",
        f"{slug}/core/database/settings.py",
        f"{slug}/core/database/sqlite.py",
        f"{slug}/core/http/__init__.py",
        f"{slug}/core/http/application.py",
        f"{slug}/core/http/contract.py",
        f"{slug}/core/http/cors.py",
        f"{slug}/core/http/errors.py",
        f"{slug}/core/http/json_encoding.py",
        f"{slug}/core/http/proxies.py",
        f"{slug}/core/http/rate_limits.py",
        f"{slug}/core/http/request_body.py",
        f"{slug}/core/http/request_guard.py",
        f"{slug}/core/observability/__init__.py",
        f"{slug}/core/observability/log_writer.py",
        f"{slug}/core/observability/logs.py",
        f"{slug}/core/observability/metrics.py",
        f"{slug}/core/observability/request_context.py",
        f"{slug}/core/service_calls/__init__.py",
        f"{slug}/core/service_calls/client.py",
        f"{slug}/core/serving/__init__.py",
        f"{slug}/core/serving/lifecycle.py",
        f"{slug}/core/serving/probes.py",
        f"{slug}/core/setting_types.py",
        f"{slug}/core/settings.py",
        f"{slug}/migrations/env.py",
        f"{slug}/migrations/script.py.mako",
        f"{slug}/migrations/versions/rev_0001_create_items.py",
        f"{slug}/migrations/versions/rev_0002_items_created_at_and_lasting_ids.py",
        f"{slug}/models/__init__.py",
        f"{slug}/models/base.py",
        f"{slug}/models/item.py",
        f"{slug}/openapi.py",
        f"{slug}/preflight.py",
        f"{slug}/py.typed",
        f"{slug}/schemas/__init__.py",
        f"{slug}/schemas/fields.py",
        f"{slug}/schemas/home.py",
        f"{slug}/schemas/items.py",
        f"{slug}/settings.yml",
        f"{slug}/views/__init__.py",
        f"{slug}/views/home.py",
        f"{slug}/views/items.py",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/plumbing/__init__.py",
        "tests/plumbing/conftest.py",
        "tests/plumbing/test_asgi.py",
        "tests/plumbing/test_body_contract.py",
        "tests/plumbing/test_client.py",
        "tests/plumbing/test_client_errors.py",
        "tests/plumbing/test_contract.py",
        "tests/plumbing/test_cors.py",
        "tests/plumbing/test_database.py",
        "tests/plumbing/test_deploy.py",
        "tests/plumbing/test_errors.py",
        "tests/plumbing/test_json_encoding.py",
        "tests/plumbing/test_log_writer.py",
        "tests/plumbing/test_logs.py",
        "tests/plumbing/test_metrics.py",
        "tests/plumbing/test_migrations.py",
        "tests/plumbing/test_preflight.py",
        "tests/plumbing/test_preflight_app.py",
        "tests/plumbing/test_probes.py",
        "tests/plumbing/test_proxies.py",
        "tests/plumbing/test_rate_limits.py",
        "tests/plumbing/test_request_context.py",
        "tests/plumbing/test_request_guard.py",
        "tests/plumbing/test_routing.py",
        "tests/plumbing/test_schema_revision.py",
        "tests/plumbing/test_settings.py",
        "tests/support/__init__.py",
        "tests/support/asgi_calls.py",
        "tests/support/client_calls.py",
        "tests/support/fixtures.py",
        "tests/support/migrations.py",
        "tests/test_home.py",
        "tests/test_items.py",
        "tests/test_models.py",
        "tox.ini",
    }


def test_openapi_json_parses_and_carries_the_answers(
    project: Path, context: str
) -> None:
    document = json.loads((project / "openapi.json").read_text(encoding="utf-8"))
    settings = yaml.safe_load((project / SLUGS[context] / "settings.yml").read_text())

    assert document["info"] == {
        "title": answer(context, "project_name"),
        "version": answer(context, "version"),
    }
    assert settings["API_TITLE"] == answer(context, "project_name")


def test_pyproject_parses_and_carries_the_answers(project: Path, context: str) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    meta = pyproject["project"]
    python = answer(context, "python_version")
    license_ = answer(context, "license")

    assert meta["name"] == SLUGS[context]
    assert meta["version"] == answer(context, "version")
    assert meta["description"] == answer(context, "description")
    assert meta["authors"] == [
        {
            "name": answer(context, "author_name"),
            "email": answer(context, "author_email"),
        }
    ]
    assert meta["requires-python"] == f">={python}"
    assert meta["license"] == (
        "LicenseRef-Proprietary" if license_ == "Proprietary" else license_
    )
    versions = [
        c.rsplit(" :: ", 1)[1] for c in meta["classifiers"] if "Python :: 3." in c
    ]
    assert versions == [v for v in ("3.11", "3.12", "3.13") if v >= python]
    assert ("Private :: Do Not Upload" in meta["classifiers"]) == (
        license_ == "Proprietary"
    )
    assert pyproject["tool"]["mypy"]["python_version"] == python
    assert pyproject["tool"]["ruff"]["target-version"] == "py3" + python.split(".")[1]
    runtime = {dep.split(">")[0] for dep in meta["dependencies"]}
    assert (
        runtime
        == {"quart", "hypercorn", "orjson", "pyyaml", "uvloop", "werkzeug"}
        | {"prometheus-client", "httpx", "quart-cors", "quart-rate-limiter"}
        | ({"pyjwt[crypto]"} if answer(context, "auth") == "jwt" else set())
        | {"pydantic", "pydantic-settings", "quart-schema", "swagger-ui-bundle-v2"}
        | {
            "granian": {"granian[uvloop]"},
            "uvicorn": {"uvicorn[standard]", "wsproto"},
            "hypercorn": set(),
        }[answer(context, "asgi_server")]
        | {
            "sqlite": {"sqlalchemy[asyncio]", "alembic", "aiosqlite"},
            "postgresql": {"sqlalchemy[asyncio]", "alembic", "asyncpg"},
            "none": set(),
        }[answer(context, "database")]
    )
    for dependency in meta["dependencies"] + meta["optional-dependencies"]["dev"]:
        assert re.search(r">=[\d.]+,<[\d.]+$", dependency), f"{dependency}: bounds?"


def test_bakes_differ_only_by_their_options_requirements(
    pristine: Bake, context: str
) -> None:
    """So conftest may install every bake into one virtualenv per Python with
    --no-deps: the default bake's dependencies plus every other choice's are
    everyone's."""

    def needs(project: Path) -> tuple[set[str], object]:
        meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
        return set(meta["dependencies"]), meta["optional-dependencies"]

    runtime, dev = needs(pristine(context))
    default_runtime, default_dev = needs(pristine("default"))
    assert dev == default_dev
    assert runtime <= default_runtime | set(option_requirements(pristine))


def test_settings_yaml_parses_to_uppercase_keys(project: Path, context: str) -> None:
    path = project / SLUGS[context] / "settings.yml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))

    assert isinstance(settings, dict)
    assert all(key.isupper() for key in settings)


def test_every_python_file_parses(project: Path) -> None:
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_readme_heading_and_text_carry_the_answers(project: Path, context: str) -> None:
    text = (project / "README.md").read_text(encoding="utf-8")
    tokens = MarkdownIt().parse(text)

    assert (tokens[0].type, tokens[0].tag) == ("heading_open", "h1")
    assert tokens[1].content == answer(context, "project_name")
    assert tokens[3].type == "paragraph_open"
    assert tokens[4].content == answer(context, "description")
    assert (
        f"{answer(context, 'author_name')} <{answer(context, 'author_email')}>" in text
    )


LICENSE_FIRST_LINES = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License",
    "BSD-3-Clause": "BSD 3-Clause License",
    "Proprietary": "All rights reserved.",
}


def test_license_matches_the_answer(project: Path, context: str) -> None:
    license_ = answer(context, "license")
    text = (project / "LICENSE").read_text(encoding="utf-8")
    first = text.strip().splitlines()[0]

    assert LICENSE_FIRST_LINES[license_] in first
    for other, line in LICENSE_FIRST_LINES.items():
        if other != license_:
            assert line not in text
    if license_ != "Apache-2.0":  # Apache's text carries no copyright line
        assert answer(context, "author_name") in text
