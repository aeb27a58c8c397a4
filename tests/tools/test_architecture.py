"""The baked package's architecture holds in `make lint`: a user module that
imports the plumbing past its front door, or plumbing that imports the user's
code, fails the lint naming the import; the package as baked passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from database_service import Installed
from helpers import Bake, run

VIEW = "my_service/views/home.py"
PLUMBING = "my_service/core/http/cors.py"
USER_TEST = "tests/test_home.py"


def lint(project: Path, venv: Path) -> tuple[int, str]:
    result = run(["make", "--no-print-directory", "lint", f"VENV={venv}"], project)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def copy(tmp_path: Path, pristine: Bake) -> Path:
    """The default bake, copied so that the test may break it."""
    return Path(shutil.copytree(pristine("default"), tmp_path / "my_service"))


@pytest.mark.parametrize(
    ("path", "line", "broken"),
    [
        (
            VIEW,
            "from ..core.http.errors import error_body",
            "my_service.views.home -> my_service.core.http.errors",
        ),
        (
            USER_TEST,
            "from my_service.core.settings import SettingsError",
            "tests.test_home -> my_service.core.settings",
        ),
        (
            PLUMBING,
            "from ...views import blueprints",
            "my_service.core is not allowed to import my_service.views",
        ),
    ],
    ids=["view-past-front-door", "user-test-past-front-door", "plumbing-imports-views"],
)
def test_lint_fails_on_an_import_against_the_architecture(
    copy: Path, installed: Installed, path: str, line: str, broken: str
) -> None:
    venv = installed("default", "3.11")
    assert lint(copy, venv)[0] == 0  # as baked

    target = copy / path
    # At the end, so that ruff's other rules have nothing to say about it.
    target.write_text(f"{target.read_text()}\n\n{line}  # noqa: E402, F401\n")
    status, output = lint(copy, venv)

    assert status != 0
    assert broken in output
    assert "docs/architecture.md" in output
