"""The answer sets the suite bakes, and where each bake's own checks run.

Each context is baked once per session (see conftest.py) and checked many
times. Together they cover every license, every python_version, every
asgi_server, every database and answers that are awkward to quote in TOML,
YAML, JSON, Python and Markdown.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from helpers import TEMPLATE_DIR, Bake

PYTHONS = ("3.11", "3.12", "3.13")

AWKWARD_NAME = 'Zürich "Payments" API'
AWKWARD_AUTHOR = "O'Brien \\ Co"
AWKWARD_DESCRIPTION = (
    "Pays \"fast\" & 'safe' in <50 ms> C:\\path\\ {x} $HOME `tick` é ✓ 😀"
)

CONTEXTS: dict[str, dict[str, str]] = {
    "default": {},
    "apache-py3.12": {
        "project_name": "Ledger API",
        # The longest slug allowed: the baked lines that hold it stay in 88 columns.
        "project_slug": "ledger_and_account_reconciliation_v2_api",
        "license": "Apache-2.0",
        "python_version": "3.12",
        "asgi_server": "uvicorn",
        "database": "postgresql",
    },
    "bsd-py3.13": {
        "project_name": "Order Events",
        "license": "BSD-3-Clause",
        "python_version": "3.13",
        "version": "1.0.0rc1",
        "asgi_server": "granian",
        "database": "none",
    },
    "proprietary-awkward": {
        "project_name": AWKWARD_NAME,
        "author_name": AWKWARD_AUTHOR,
        "author_email": "o'brien+svc@example.co.uk",
        "description": AWKWARD_DESCRIPTION,
        "license": "Proprietary",
        "auth": "jwt",
    },
}

# The slug each context's project name derives to (also its directory name).
SLUGS = {
    "default": "my_service",
    "apache-py3.12": "ledger_and_account_reconciliation_v2_api",
    "bsd-py3.13": "order_events",
    "proprietary-awkward": "zurich_payments_api",
}


# One context for each asgi_server choice.
SERVER_CONTEXTS = {
    "hypercorn": "default",
    "uvicorn": "apache-py3.12",
    "granian": "bsd-py3.13",
}

# One context for each auth choice.
AUTH_CONTEXTS = {
    "none": "default",
    "jwt": "proprietary-awkward",
}

# One context for each database choice.
DATABASE_CONTEXTS = {
    "sqlite": "default",
    "postgresql": "apache-py3.12",
    "none": "bsd-py3.13",
}

DEFAULTS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))


def answer(context: str, field: str) -> str:
    """The answer a context gives, or the template's default (a choice's first)."""
    default = DEFAULTS[field]
    if isinstance(default, list):
        default = default[0]
    return CONTEXTS[context].get(field, default)


def python_of(context: str) -> str:
    return answer(context, "python_version")


# (context, python): each bake's `make test` on the oldest Python it supports
# (test_baked_project.py). The default bake's runs under tox instead, on a
# fresh bake, on the oldest and the newest Python the machine has
# (test_tox_precommit.py): 3.11 and 3.13 (Quart 0.23).
CHECK_RUNS = sorted((name, python_of(name)) for name in CONTEXTS if name != "default")
assert {python for _, python in CHECK_RUNS} | {PYTHONS[0], PYTHONS[-1]} == set(PYTHONS)


def option_requirements(bake: Bake) -> list[str]:
    """The requirements that bakes with other choices (asgi_server, database)
    add to the default's."""
    default = set(project_dependencies(bake("default")))
    extra = {
        requirement
        for context in CONTEXTS
        for requirement in project_dependencies(bake(context))
    }
    return sorted(extra - default)


def project_dependencies(project: Path) -> list[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies: list[str] = pyproject["project"]["dependencies"]
    return dependencies
