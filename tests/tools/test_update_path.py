"""The update path, on a git copy of the template: a project baked with
`cruft create`, given local edits and committed, takes the template's next
commit with `make update` and keeps the edits, then passes its own `make test
lint typecheck`; a change that conflicts with a local edit makes `make update`
fail and name the file (cruft itself exits 0), and the README's way out
(abort, or resolve and commit) works; outside git the conflict is a .rej file,
also reported. The CI's template check, run as CI runs it, reports a project
behind its template and is quiet once it is up to date."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from contexts import python_of
from helpers import TEMPLATE_DIR, Bake, Venv, check, run
from workflows import CRUFT, GIT_IDENTITY, WORKFLOW, load_workflow, step

# What cookiecutter reads of the template.
TEMPLATE_PARTS = (
    "cookiecutter.json",
    "hooks",
    "local_extensions.py",
    "templates",
    "{{cookiecutter.project_slug}}",
)
BAKED_README = "{{cookiecutter.project_slug}}/README.md"
DESCRIPTION = "A Quart microservice."  # the default, README's second paragraph
LOCAL_TEST = '''\
"""The user's own test, which template updates keep."""

from {slug} import create_app


def test_the_users_own_test() -> None:
    assert callable(create_app)
'''


def git(cwd: Path, *args: str) -> str:
    return check(["git", *args], cwd, {**os.environ, **GIT_IDENTITY})


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "--all")
    git(cwd, "commit", "--quiet", "--message", message)


def edit(path: Path, change: Callable[[str], str]) -> None:
    before = path.read_text(encoding="utf-8")
    after = change(before)
    assert after != before, path
    path.write_text(after, encoding="utf-8")


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A git repository holding the template as it is now, one commit."""
    repository = tmp_path / "template"
    repository.mkdir()
    for part in TEMPLATE_PARTS:
        source = TEMPLATE_DIR / part
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(source, repository / part, ignore=ignore)
        else:
            shutil.copy2(source, repository / part)
    git(repository, "init", "--quiet", "--initial-branch", "main")
    commit_all(repository, "the template")
    return repository


@pytest.fixture
def dev(venv: Venv) -> Path:
    """The virtualenv `make install` would make: the dev extra's tools (cruft
    among them), shared with the session's bakes."""
    return venv(python_of("default"))


@pytest.fixture
def env(cookiecutter_env: dict[str, str], dev: Path) -> dict[str, str]:
    """A developer's environment after `make install`: the virtualenv's tools
    first on PATH (as CI has them), the suite's cookiecutter config."""
    return {
        **cookiecutter_env,
        "PATH": f"{dev / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }


def cruft_create(template: Path, name: str, output: Path, env: dict[str, str]) -> Path:
    """Bake with `cruft create` as the README says, and commit the bake."""
    check(
        [
            *(CRUFT, "create", "--no-input", "--output-dir", output),
            *("--extra-context", json.dumps({"project_name": name})),
            *("--config-file", env["COOKIECUTTER_CONFIG"], template),
        ],
        cwd=output.parent,
        env=env,
    )
    [project] = output.iterdir()
    assert (project / ".cruft.json").is_file()
    git(project, "init", "--quiet", "--initial-branch", "main")
    commit_all(project, "bake")
    return project


def make(project: Path, env: dict[str, str], dev: Path, *targets: str) -> str:
    result = run(
        ["make", "--no-print-directory", *targets, f"VENV={dev}"], project, env
    )
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def ci_template_check(project: Path, env: dict[str, str]) -> tuple[str, str]:
    """The CI's `cruft check` step, run by bash as GitHub runs it, with cruft
    on PATH: its output (annotations included) and its step summary."""
    script = step(load_workflow(project / WORKFLOW), "template-check")["run"]
    summary = project.parent / "step-summary.md"
    summary.write_text("")
    result = run(
        ["bash", "-e", "-c", script],
        project,
        {**env, "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 0, result.stdout + result.stderr  # a report only
    return result.stdout, summary.read_text()


def test_make_update_takes_the_template_change_and_keeps_local_edits(
    template: Path, tmp_path: Path, env: dict[str, str], dev: Path
) -> None:
    project = cruft_create(template, "Updated Service", tmp_path / "out", env)
    slug = project.name
    up_to_date, summary = ci_template_check(project, env)
    assert "::warning" not in up_to_date
    assert "up to date" in up_to_date
    assert summary == ""

    # The user's edits: README's description, a test of their own.
    edit(project / "README.md", lambda t: t.replace(DESCRIPTION, "Pays invoices."))
    (project / "tests" / "test_local.py").write_text(LOCAL_TEST.format(slug=slug))
    commit_all(project, "local edits")
    # The template's next commit: README and a module changed, a file added,
    # each with an answer in it.
    edit(
        template / BAKED_README,
        lambda t: t + "\n{{ cookiecutter.project_name }} follows its template.\n",
    )
    edit(
        template
        / "{{cookiecutter.project_slug}}/{{cookiecutter.project_slug}}/__init__.py",
        lambda t: t + "# {{ cookiecutter.project_name }}, as its template has it.\n",
    )
    (template / "{{cookiecutter.project_slug}}/CHANGES.md").write_text(
        "# Changes to {{ cookiecutter.project_name }}\n"
    )
    commit_all(template, "the template's change")

    behind, summary = ci_template_check(project, env)
    assert "::warning title=Template updates::" in behind
    assert "make update" in summary
    assert run([CRUFT, "check"], project, env).returncode != 0

    updated = make(project, env, dev, "update")

    assert updated.startswith("exit 0\n"), updated
    readme = (project / "README.md").read_text()
    assert "Pays invoices." in readme  # the user's edit, kept
    assert DESCRIPTION not in readme
    assert readme.endswith("\nUpdated Service follows its template.\n")
    assert (project / "CHANGES.md").read_text() == "# Changes to Updated Service\n"
    assert (
        (project / slug / "__init__.py")
        .read_text()
        .endswith("# Updated Service, as its template has it.\n")
    )
    assert (project / "tests" / "test_local.py").read_text() == LOCAL_TEST.format(
        slug=slug
    )
    assert (
        json.loads((project / ".cruft.json").read_text())["commit"]
        == git(template, "rev-parse", "HEAD").strip()
    )
    assert git(project, "ls-files", "--unmerged") == ""

    # The updated project passes its own checks (installed as `make install`
    # would, into the shared virtualenv, and taken out again).
    python = dev / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps"]
    check([*pip, "--no-build-isolation", "--editable", project], project)
    try:
        checked = make(project, env, dev, "test", "lint", "typecheck")
    finally:
        check([python, "-m", "pip", "uninstall", "--quiet", "--yes", slug], project)
    assert checked.startswith("exit 0\n"), checked
    assert "tests/test_local.py ." in checked
    assert "Success: no issues found" in checked

    commit_all(project, "the template's change")
    current, summary = ci_template_check(project, env)
    assert "::warning" not in current
    assert "up to date" in current


def change_the_description_line(template: Path) -> None:
    """A template commit changing the README line the user's edit changes."""
    edit(
        template / BAKED_README,
        lambda t: t.replace(
            "\n{{ cookiecutter.description }}\n",
            "\n{{ cookiecutter.description }} Kept up to date.\n",
            1,
        ),
    )
    commit_all(template, "a conflicting change")


def test_a_conflicting_change_fails_make_update_and_resolves_as_documented(
    template: Path, tmp_path: Path, env: dict[str, str], dev: Path
) -> None:
    project = cruft_create(template, "Conflicted Service", tmp_path / "out", env)
    edit(project / "README.md", lambda t: t.replace(DESCRIPTION, "Pays invoices."))
    commit_all(project, "local edit")
    change_the_description_line(template)

    failed = make(project, env, dev, "update")

    assert failed.startswith("exit 2\n"), failed
    assert "conflict with yours in:\n  README.md\n" in failed
    assert "README.md" in git(project, "ls-files", "--unmerged")

    # Abort, as README says: back to the last commit, .cruft.json included.
    git(project, "reset", "--quiet", "--hard")
    assert git(project, "status", "--porcelain") == ""
    assert run([CRUFT, "check"], project, env).returncode != 0

    # cruft alone leaves the same conflict and exits 0: make update is the check.
    alone = run([CRUFT, "update", "--skip-apply-ask"], project, env)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "README.md" in git(project, "ls-files", "--unmerged")

    # Resolve, as README says: keep what each side wants, drop the markers,
    # git add, commit. The project is then up to date.
    readme = project / "README.md"
    text = readme.read_text()
    start, end = text.index("<<<<<<< "), text.index(">>>>>>> ")
    end = text.index("\n", end) + 1
    readme.write_text(text[:start] + "Pays invoices. Kept up to date.\n" + text[end:])
    commit_all(project, "the template's change, merged")
    assert run([CRUFT, "check"], project, env).returncode == 0


def test_outside_git_a_rejected_change_fails_make_update(
    template: Path, tmp_path: Path, env: dict[str, str], dev: Path
) -> None:
    """Where git's three-way merge cannot run, cruft leaves *.rej files."""
    project = cruft_create(template, "Rejected Service", tmp_path / "out", env)
    shutil.rmtree(project / ".git")
    edit(project / "README.md", lambda t: t.replace(DESCRIPTION, "Pays invoices."))
    change_the_description_line(template)

    failed = make(project, env, dev, "update")

    assert failed.startswith("exit 2\n"), failed
    assert "conflict with yours in:\n  ./README.md.rej\n" in failed


def test_the_ci_template_check_reports_an_unlinked_or_unreachable_template(
    template: Path, pristine: Bake, tmp_path: Path, env: dict[str, str]
) -> None:
    unlinked = tmp_path / "unlinked"
    (unlinked / WORKFLOW).parent.mkdir(parents=True)
    shutil.copy(pristine("default") / WORKFLOW, unlinked / WORKFLOW)
    project = cruft_create(template, "Moved Service", tmp_path / "out", env)
    shutil.rmtree(template)  # the template moved away

    notice, _ = ci_template_check(unlinked, env)
    unreachable, summary = ci_template_check(project, env)

    assert "::notice title=Template updates::no .cruft.json" in notice
    assert "::warning title=Template updates::cruft check could not compare" in (
        unreachable
    )
    assert summary == ""
