"""The baked project's workflow files, on every bake, without running them:
the GitHub workflow passes actionlint (shellcheck on every script) and
GitHub's schema, and runs tox.ini's environments on each supported Python
(PostgreSQL as a service container when the bake uses it), hadolint and the
image build, and the template check; tox.ini, pre-commit and CI only ever
call the Makefile's targets, so the command lines live in one place. The
template's own workflow is checked the same way. test_tox_precommit.py runs
tox and pre-commit, test_update_path.py cruft and the CI's template check."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from contexts import PYTHONS, SLUGS, answer
from helpers import TEMPLATE_DIR, Bake, check, run
from workflows import (
    TOX,
    WORKFLOW,
    actionlint,
    load_workflow,
    pre_commit_hooks,
    schema_errors,
    steps,
    tox_env_list,
    tox_ini,
)

HADOLINT = Path(sys.executable).with_name("hadolint")
# Tools the Makefile runs: no other file may spell out their command lines.
TOOLS = re.compile(r"\b(ruff|mypy|pytest|coverage)\b")


def supported_pythons(context: str) -> list[str]:
    oldest = PYTHONS.index(answer(context, "python_version"))
    return list(PYTHONS[oldest:])


def run_lines(project: Path) -> list[str]:
    return [s["run"] for s in steps(load_workflow(project / WORKFLOW)) if "run" in s]


# Validity, by the tools GitHub's own checks agree with.


def test_actionlint_finds_nothing(project: Path) -> None:
    assert actionlint(project / WORKFLOW) == []


def test_githubs_workflow_schema_accepts_it(project: Path) -> None:
    assert schema_errors(project / WORKFLOW) is None


def test_the_templates_own_workflow_is_valid_and_runs_make_test() -> None:
    path = TEMPLATE_DIR / WORKFLOW
    workflow = load_workflow(path)

    assert actionlint(path) == []
    assert schema_errors(path) is None
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert [s["run"] for s in steps(workflow) if "run" in s][-1] == "bash .ci/run"
    # .ci/run is `make test`.
    assert "make test" in (TEMPLATE_DIR / ".ci" / "run").read_text()
    assert_pinned_to_releases(workflow)


def test_actionlint_catches_a_mistake(pristine: Bake, tmp_path: Path) -> None:
    """The check above can fail: a misspelt matrix key is found."""
    text = (pristine("default") / WORKFLOW).read_text()
    broken = tmp_path / "ci.yml"
    broken.write_text(text.replace("matrix.python }}", "matrix.pyton }}"))

    assert any("pyton" in finding for finding in actionlint(broken))


def test_github_expressions_survive_rendering(project: Path) -> None:
    text = (project / WORKFLOW).read_text(encoding="utf-8")

    for expression in (
        "${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}",
        '-e "${{ matrix.python }}"',
        "${{ hashFiles('pyproject.toml', 'tox.ini') }}",
    ):
        assert expression in text


# What the jobs do.


def assert_pinned_to_releases(workflow: dict[str, Any]) -> None:
    uses = [s["uses"] for s in steps(workflow) if "uses" in s]
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+(\.\d+){0,2}", action), action


def test_least_privilege_pinned_actions_and_cancelled_superseded_runs(
    project: Path,
) -> None:
    workflow = load_workflow(project / WORKFLOW)

    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    assert_pinned_to_releases(workflow)
    versions = {
        name: int(version)
        for s in steps(workflow)
        if "uses" in s
        for name, version in [re.findall(r"(.+)@v(\d+)", s["uses"])[0]]
    }
    # Older majors run on Node 20, which GitHub retires.
    assert versions["actions/checkout"] >= 5
    assert versions["actions/setup-python"] >= 6
    assert all(
        s["with"]["persist-credentials"] is False
        for s in steps(workflow)
        if s.get("uses", "").startswith("actions/checkout@")
    )
    concurrency = workflow["concurrency"]
    assert concurrency["cancel-in-progress"] is True
    assert "github.ref" in concurrency["group"]


def test_tests_run_through_tox_on_each_supported_python(
    project: Path, context: str
) -> None:
    workflow = load_workflow(project / WORKFLOW)
    test, lint = workflow["jobs"]["test"], workflow["jobs"]["lint"]
    pythons = supported_pythons(context)

    assert test["strategy"]["matrix"]["python"] == pythons
    assert test["strategy"]["fail-fast"] is False
    assert tox_env_list(project) == [*pythons, "lint", "typecheck"]
    tox_runs = [s["run"] for s in test["steps"] if "tox run" in s.get("run", "")]
    assert tox_runs == [
        'tox run --skip-missing-interpreters false -e "${{ matrix.python }}"'
    ]
    [setup] = [s for s in test["steps"] if "setup-python" in s.get("uses", "")]
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert [s["run"] for s in lint["steps"] if "tox run" in s.get("run", "")] == [
        "tox run --skip-missing-interpreters false -e lint,typecheck"
    ]


def test_postgresql_bakes_test_against_a_service_container(
    project: Path, context: str
) -> None:
    test = load_workflow(project / WORKFLOW)["jobs"]["test"]
    testenv = tox_ini(project)["testenv"]

    if answer(context, "database") != "postgresql":
        assert "services" not in test
        assert "TEST_DATABASE_URL" not in (project / WORKFLOW).read_text()
        assert "pass_env" not in testenv
        return
    postgres = test["services"]["postgres"]
    env = postgres["env"]
    assert postgres["image"].startswith("postgres:")
    assert postgres["ports"] == ["5432:5432"]
    assert "pg_isready" in postgres["options"]
    assert test["env"]["TEST_DATABASE_URL"] == (
        f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
        f"@127.0.0.1:5432/{env['POSTGRES_DB']}"
    )
    # tox passes it on to the tests (tests/support/fixtures.py reads it).
    assert testenv["pass_env"] == "TEST_DATABASE_URL"
    fixtures = project / "tests" / "support" / "fixtures.py"
    assert "TEST_DATABASE_URL" in fixtures.read_text()


def test_the_container_job_runs_hadolint_and_builds_the_image(
    project: Path, context: str
) -> None:
    container = load_workflow(project / WORKFLOW)["jobs"]["container"]
    scripts = [s["run"] for s in container["steps"] if "run" in s]
    suites = check([HADOLINT, "--version"], cwd=project).split()[-1]

    # A release of hadolint, of the major version this suite passes the
    # Dockerfile with, at the same (strictest) threshold.
    hadolint = re.fullmatch(
        r"docker run --rm --interactive ghcr\.io/hadolint/hadolint:v(\d+)\.\d+\.\d+"
        r" hadolint --failure-threshold style - < Dockerfile",
        scripts[0],
    )
    assert hadolint, scripts[0]
    assert hadolint.group(1) == suites.split(".")[0]
    assert scripts[1] == f"docker build --tag {SLUGS[context]}:ci ."
    assert (project / "Dockerfile").is_file()


def test_pip_downloads_and_uvs_are_cached(project: Path) -> None:
    workflow = load_workflow(project / WORKFLOW)
    setups = [s for s in steps(workflow) if "setup-python" in s.get("uses", "")]
    caches = [s for s in steps(workflow) if "actions/cache" in s.get("uses", "")]

    assert len(setups) == 3  # lint, test, template
    for setup in setups:
        assert setup["with"]["cache"] == "pip"
        assert setup["with"]["cache-dependency-path"] == "pyproject.toml"
    # tox-uv installs the environments with uv: its cache too, per job.
    assert {c["with"]["path"] for c in caches} == {"~/.cache/uv"}
    assert len({c["with"]["key"] for c in caches}) == len(caches) == 2


def test_ci_installs_tox_and_cruft_within_the_dev_extras_bounds(
    project: Path,
) -> None:
    """CI's DEV_REQUIREMENTS script, run on the bake's pyproject.toml, gives
    exactly the dev extra's requirement of each tool it names."""
    workflow = load_workflow(project / WORKFLOW)
    script = workflow["env"]["DEV_REQUIREMENTS"]
    dev = (project / "pyproject.toml").read_text()
    installs = [
        s["run"] for s in steps(workflow) if "DEV_REQUIREMENTS" in s.get("run", "")
    ]

    assert len(installs) == 3
    for install in installs:
        names = re.search(r'"\$DEV_REQUIREMENTS" ([\w -]+) >', install)
        assert names, install
        wanted = names.group(1).split()
        printed = check([sys.executable, "-c", script, *wanted], cwd=project)
        lines = printed.splitlines()
        assert [line.split(">")[0] for line in lines] == wanted
        assert all(f'"{line}",' in dev for line in lines)


# One place for each command line.


def test_tox_reads_its_environments(
    project: Path, context: str, tmp_path: Path
) -> None:
    # tox's work directory elsewhere: nothing is written into the bake.
    listed = check(
        [TOX, "list", "--no-desc", "-q", "--workdir", tmp_path], cwd=project
    ).split()

    assert listed == [*supported_pythons(context), "lint", "typecheck"]


def test_tox_pre_commit_and_ci_only_call_the_makefiles_targets(
    project: Path,
) -> None:
    ini = tox_ini(project)
    commands = {
        section: ini[section]["commands"]
        for section in ini.sections()
        if "commands" in ini[section]
    }
    hooks = {hook["id"]: hook for hook in pre_commit_hooks(project)}

    assert commands == {
        "testenv": "make --no-print-directory test VENV={env_dir}",
        "testenv:lint": "make --no-print-directory lint VENV={env_dir}",
        "testenv:typecheck": "make --no-print-directory typecheck VENV={env_dir}",
    }
    assert ini["testenv"]["extras"] == "dev"
    for target in ("lint", "typecheck"):
        assert hooks[target]["entry"] == f"make --no-print-directory {target}"
        assert hooks[target]["language"] == "system"
        assert hooks[target]["pass_filenames"] is False
    for script in run_lines(project):
        assert not TOOLS.search(script), script
    # Each target exists in the Makefile and runs the tool from VENV.
    for target, tool in (("test", "coverage"), ("lint", "ruff"), ("typecheck", "mypy")):
        printed = check(["make", "-n", target, "VENV=/venv"], cwd=project)
        assert f"/venv/bin/{tool}" in printed


def test_pre_commit_fetches_nothing(project: Path) -> None:
    config = (project / ".pre-commit-config.yaml").read_text()

    assert re.findall(r"repo: (\S+)", config) == ["local"]
    assert {hook["language"] for hook in pre_commit_hooks(project)} <= {
        "system",
        "pygrep",
        "fail",
    }


def test_make_update_without_cruft_json_says_how_to_link(
    pristine: Bake, tmp_path: Path
) -> None:
    shutil.copy(pristine("default") / "Makefile", tmp_path)

    result = run(["make", "update", "VENV=/nonexistent"], cwd=tmp_path)

    assert result.returncode != 0
    assert "no .cruft.json" in result.stderr
    assert "cruft link" in result.stderr
    assert "/nonexistent/bin/cruft" not in result.stdout  # stopped before cruft


@pytest.mark.parametrize("target", ["tox", "update"])
def test_make_help_lists_the_new_targets(pristine: Bake, target: str) -> None:
    assert f"make {target} " in check(["make"], cwd=pristine("default"))
