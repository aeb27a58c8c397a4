"""The whole user path on one fresh bake, in a fresh virtualenv made by the
bake's own Makefile: make install, test, lint, typecheck, clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from helpers import TEMPLATE_DIR, check


def listing(project: Path) -> list[str]:
    return sorted(p.relative_to(project).as_posix() for p in project.rglob("*"))


@pytest.fixture(scope="module")
def fresh_project(
    tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path
) -> Path:
    output = tmp_path_factory.mktemp("user-path")
    return Path(
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            output_dir=str(output),
            config_file=str(cookiecutter_config),
        )
    )


def test_make_alone_lists_the_targets(fresh_project: Path) -> None:
    output = check(["make"], cwd=fresh_project)

    for target in ("install", "run", "serve", "test", "lint", "typecheck", "clean"):
        assert f"make {target} " in output


def test_install_test_lint_typecheck_then_clean(fresh_project: Path) -> None:
    as_baked = listing(fresh_project)

    check(["make", "install"], cwd=fresh_project, timeout=600)
    assert (fresh_project / ".venv" / "bin" / "quart").exists()
    output = check(["make", "test", "lint", "typecheck"], cwd=fresh_project)
    assert " passed in " in output
    assert "Success: no issues found" in output

    check(["make", "clean"], cwd=fresh_project)
    assert listing(fresh_project) == as_baked
