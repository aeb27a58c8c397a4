"""Post-generation hook: drop the files the chosen options do not use, then
print the next steps.

Cookiecutter renders this file with Jinja and runs it with its own Python, in
the new project's directory. As in the pre-generation hook, the answers arrive
as JSON in a raw string and are parsed as data. The hook is pure Python (no
subprocess, no network) and safe to run twice: removing a file that is already
gone is not an error.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

# Single quotes on purpose (`tojson` writes none), hence no reformatting.
ANSWERS_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

# The one place that knows which baked files belong to which option:
# option -> value -> paths (relative to the project root) that only that value
# keeps. Every other value of the option has them removed. Paths may name the
# package as "{slug}". Files no option names belong to every bake.
DATA_LAYER = (
    "alembic.ini",
    "{slug}/core/database",
    "{slug}/migrations",
    "{slug}/models",
    "{slug}/schemas/fields.py",
    "{slug}/schemas/items.py",
    "{slug}/views/items.py",
    "tests/plumbing/test_database.py",
    "tests/plumbing/test_migrations.py",
    "tests/plumbing/test_schema_revision.py",
    "tests/support/migrations.py",
    "tests/test_items.py",
    "tests/test_models.py",
)
# Kubernetes: SQLite's one pod keeps its file on a volume; with PostgreSQL or
# no database the pods scale (hpa.yaml, pdb.yaml), and PostgreSQL is migrated
# by a Job.
SCALING = ("deploy/k8s/hpa.yaml", "deploy/k8s/pdb.yaml")
AUTH_JWT = (
    "{slug}/core/auth",
    "{slug}/core/service_calls/credentials.py",
    "{slug}/dev_tokens.py",
    "tests/plumbing/test_auth.py",
    "tests/plumbing/test_auth_keys.py",
    "tests/plumbing/test_auth_tokens.py",
    "tests/plumbing/test_client_credentials.py",
    "tests/plumbing/test_client_credentials_errors.py",
    "tests/plumbing/test_dev_tokens.py",
    "tests/support/credential_calls.py",
    "tests/support/tokens.py",
)
OPTION_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "asgi_server": {
        "hypercorn": ("hypercorn.toml",),
        "granian": (
            "{slug}/core/serving/granian_workers.py",
            "tests/plumbing/test_granian_workers.py",
        ),
    },
    "auth": {"jwt": AUTH_JWT},
    "database": {
        "sqlite": (
            *DATA_LAYER,
            "{slug}/core/database/sqlite.py",
            "deploy/k8s/pvc.yaml",
        ),
        "postgresql": (
            *DATA_LAYER,
            "{slug}/core/database/postgresql.py",
            *SCALING,
            "deploy/k8s/migration-job.yaml",
            "tests/support/postgres.py",
        ),
        "none": SCALING,
    },
}


def unused_paths(
    answers: Mapping[str, str],
    option_paths: Mapping[str, Mapping[str, tuple[str, ...]]] = OPTION_PATHS,
) -> list[str]:
    """Return the paths that belong to option values other than the chosen ones."""
    chosen: set[str] = set()
    other: set[str] = set()
    for option, by_value in option_paths.items():
        for value, paths in by_value.items():
            (chosen if answers[option] == value else other).update(paths)
    return sorted(path.format(slug=answers["project_slug"]) for path in other - chosen)


def remove(project_dir: Path, relative_paths: list[str]) -> None:
    """Remove files and directories under `project_dir`; missing ones are fine."""
    for relative in relative_paths:
        path = project_dir / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def next_steps(project_dir: Path, answers: Mapping[str, str]) -> str:
    """The commands that install, run and test the new service."""
    return "\n".join(
        [
            f"Baked {project_dir}. Next steps:",
            f"  cd {project_dir}",
            "  make install     # .venv with the service and its dev tools",
            *(
                []
                if answers["database"] == "none"
                else ["  make migrate     # creates the database's tables"]
            ),
            "  make run         # development server on http://127.0.0.1:5000/",
            *(
                ["  make token       # a bearer token make run accepts, for curl"]
                if answers["auth"] == "jwt"
                else []
            ),
            "  make test        # tests with coverage; also: make lint typecheck",
            f"  make serve       # {answers['asgi_server']} on http://127.0.0.1:8000/"
            f" ({'BIND, WORKERS' if answers['asgi_server'] == 'granian' else 'BIND'})",
            "See README.md in the project for settings and adding endpoints.",
        ]
    )


def main(answers_json: str = ANSWERS_JSON, project_dir: Path | None = None) -> int:
    answers = json.loads(answers_json)
    project_dir = project_dir or Path.cwd()
    remove(project_dir, unused_paths(answers))
    print(next_steps(project_dir, answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
