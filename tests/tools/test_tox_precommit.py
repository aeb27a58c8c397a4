"""tox and pre-commit on fresh bakes, as a developer runs them.

tox runs the bake's own tox.ini on the oldest and newest Python the machine
has, then lint and typecheck (in the background once the bakes' own runs
are done: tox_runs.py). pre-commit runs the bake's hooks over every file of
a fresh git repository: they pass as baked, and catch a lint error, a type
error and a conflict marker once they are staged."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from contexts import python_of
from helpers import TEMPLATE_DIR, Venv, check, run
from tox_runs import ToxResult
from workflows import GIT_IDENTITY


def test_tox_runs_the_matrix_lint_and_typecheck(tox_run: ToxResult) -> None:
    output = tox_run.output

    assert tox_run.returncode == 0, output
    for env in [*tox_run.pythons, "lint", "typecheck"]:
        assert re.search(rf"^  {re.escape(env)}: OK \(", output, re.MULTILINE), env
    assert "congratulations :)" in output
    # Each Python's tests ran on that Python, with every test passing.
    for python in tox_run.pythons:
        assert re.search(rf"platform linux -- Python {re.escape(python)}\.", output)
    # Only passes (no failure, error, skip or warning), and the code as baked
    # covered completely: what test_baked_project.py asks of the other bakes.
    runs = len(tox_run.pythons)
    # pytest adds "(0:01:05)" after a minute.
    passed = r"^=+ \d+ passed in [\d.]+s(?: \(\d+:\d\d:\d\d\))? =+$"
    assert len(re.findall(passed, output, re.M)) == runs
    assert len(re.findall(r"^TOTAL .* 100%$", output, re.MULTILINE)) == runs
    assert "Success: no issues found" in output
    assert "All checks passed!" in output


@pytest.fixture(scope="module")
def committed_bake(
    tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path
) -> Path:
    """A fresh default bake, committed to a git repository of its own (the
    slug differs from the session's bakes that share its virtualenv)."""
    output = tmp_path_factory.mktemp("pre-commit")
    project = Path(
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context={"project_name": "Hooked Service"},
            output_dir=str(output),
            config_file=str(cookiecutter_config),
        )
    )
    env = {**os.environ, **GIT_IDENTITY}
    check(["git", "init", "--quiet", "--initial-branch", "main"], project, env)
    check(["git", "add", "--all"], project, env)
    check(["git", "commit", "--quiet", "--message", "bake"], project, env)
    return project


def pre_commit(project: Path, venv: Path, tmp_path: Path, *args: str) -> str:
    """`pre-commit run --all-files` as `.venv/bin/pre-commit` runs it, on the
    dev extra's pre-commit, with its cache kept out of the home directory."""
    env = {
        **os.environ,
        "VENV": str(venv),  # the Makefile's, for make lint and make typecheck
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    result = run(
        [venv / "bin" / "pre-commit", "run", "--all-files", "--color", "never", *args],
        cwd=project,
        env=env,
    )
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def test_pre_commit_passes_on_a_fresh_bake_and_catches_mistakes(
    committed_bake: Path, venv: Venv, tmp_path: Path
) -> None:
    project = committed_bake
    dev = venv(python_of("default"))

    passed = pre_commit(project, dev, tmp_path)

    assert passed.startswith("exit 0\n"), passed
    for name in ("make lint", "make typecheck", "no conflict markers"):
        assert re.search(rf"^{name}.*Passed$", passed, re.MULTILINE), passed

    # A lint error, a type error and a conflict marker, staged.
    slug = project.name
    (project / slug / "broken.py").write_text(
        'import os\n\n\ndef count() -> int:\n    return "one"\n'
    )
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "<<<<<<< ours\n")
    check(["git", "add", "--all"], project)

    failed = pre_commit(project, dev, tmp_path)

    assert failed.startswith("exit 1\n"), failed
    assert "F401" in failed  # ruff finds `os` unused
    assert "Incompatible return value type" in failed  # mypy
    assert re.search(r"^README\.md:\d+:<<<<<<< ours$", failed, re.MULTILINE)
    for name in ("make lint", "make typecheck", "no conflict markers"):
        assert re.search(rf"^{name}.*Failed$", failed, re.MULTILINE), failed
