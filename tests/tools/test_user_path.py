"""The whole user path on one fresh bake, in a fresh virtualenv made by the
bake's own Makefile: make install, test, lint, typecheck; a model changed and
its migration written by `make migration` and applied by `make migrate`; make
clean. And on another bake, the example resource removed as its README says,
after which the project still passes its own checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from contexts import python_of
from helpers import TEMPLATE_DIR, Venv, check, run

# A field the user adds to the example model.
NEW_FIELD = """
    colour: Mapped[str] = mapped_column(String(20), default="")
"""


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

    targets = ("install", "migrate", "migration", "run", "serve", "openapi", "test")
    for target in (*targets, "format", "lint", "typecheck", "clean"):
        assert f"make {target} " in output


def test_install_test_lint_typecheck_then_clean(fresh_project: Path) -> None:
    as_baked = listing(fresh_project)

    check(["make", "install"], cwd=fresh_project, timeout=600)
    assert (fresh_project / ".venv" / "bin" / "quart").exists()
    output = check(["make", "test", "lint", "typecheck"], cwd=fresh_project)
    assert " passed in " in output
    assert "Success: no issues found" in output

    revision = change_a_model_and_migrate(fresh_project)
    format_what_lint_finds(fresh_project)

    check(["make", "clean"], cwd=fresh_project)
    # What the user made stays: their migration and their database.
    assert set(listing(fresh_project)) - set(as_baked) == {
        revision,
        "my_service.sqlite3",
    }


def change_a_model_and_migrate(project: Path) -> str:
    """The migration loop of the baked README: migrate, change a model, write
    its migration, apply it; lint, type check and the migration tests pass.
    Returns the new revision's path."""
    check(["make", "migrate"], cwd=project)
    model = project / "my_service" / "models" / "item.py"
    model.write_text(model.read_text() + NEW_FIELD)
    versions = project / "my_service" / "migrations" / "versions"
    before = set(versions.glob("rev_*.py"))

    refused = run(["make", "migration"], cwd=project)
    written = run(["make", "migration", "MSG=add colour"], cwd=project)
    check(["make", "migrate"], cwd=project)

    assert refused.returncode != 0
    assert "MSG is required" in refused.stderr
    assert written.returncode == 0, written.stderr
    # Formatted before the fixer runs: no long line is reported on the way.
    assert "E501" not in written.stdout + written.stderr
    [new] = set(versions.glob("rev_*.py")) - before
    # Numbered after the newest revision, as the example's are.
    newest = max(int(path.name[4:8]) for path in before)
    assert new.name == f"rev_{newest + 1:04d}_add_colour.py"
    assert f'revision: str = "{newest + 1:04d}"' in new.read_text()
    assert "add_column" in new.read_text()
    output = check(["make", "lint", "typecheck"], cwd=project)
    assert "Success: no issues found" in output
    migrations = "tests/plumbing/test_migrations.py"
    tests = check([".venv/bin/pytest", "-q", migrations], project)
    assert " passed in " in tests
    return new.relative_to(project).as_posix()


def format_what_lint_finds(project: Path) -> None:
    """make lint, failing on formatting, says make format fixes it; it does."""
    view = project / "my_service" / "views" / "home.py"
    original = view.read_text()
    untidy = original.replace('endpoint."""\n', 'endpoint."""\nimport os\n', 1)
    view.write_text(untidy + "\nEXTRA = {  'a':1 }\n")  # unused import, format
    try:
        failed = run(["make", "lint"], cwd=project)
        assert failed.returncode != 0
        assert "make format" in failed.stderr

        check(["make", "format"], cwd=project)
        check(["make", "lint"], cwd=project)
        assert "import os" not in view.read_text()
    finally:
        view.write_text(original)


def test_the_example_resource_goes_as_the_readme_says(
    tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path, venv: Venv
) -> None:
    output = tmp_path_factory.mktemp("without-example")
    project = Path(
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context={"project_name": "Without Example"},
            output_dir=str(output),
            config_file=str(cookiecutter_config),
        )
    )
    slug = project.name
    python = venv(python_of("default")) / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps"]
    check([*pip, "--no-build-isolation", "--editable", project], cwd=project)
    try:
        # The README's command, as written, then its two edits.
        readme = (project / "README.md").read_text()
        section = readme.split("**Remove the example resource**", 1)[1]
        command = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
        assert command
        check(["sh", "-c", command.group(1)], cwd=project)
        views = project / slug / "views" / "__init__.py"
        views.write_text(
            views.read_text()
            .replace("from .items import items\n", "")
            .replace("[home, items]", "[home]")
        )
        models = project / slug / "models" / "__init__.py"
        models.write_text(
            models.read_text()
            .replace("from .item import Item\n", "")
            .replace('["Base", "Item"]', '["Base"]')
        )
        venv_dir = f"VENV={python.parent.parent}"
        check(["make", "migration", "MSG=initial", venv_dir], cwd=project)
        check(["make", "openapi", venv_dir], cwd=project)

        checked = check(["make", "test", "lint", "typecheck", venv_dir], cwd=project)

        assert " passed in " in checked
        assert "Success: no issues found" in checked
        assert "items" not in (project / "openapi.json").read_text()
    finally:
        check([python, "-m", "pip", "uninstall", "--quiet", "--yes", slug], project)
