"""Session-wide bakes and virtualenvs: bake once, check many.

Each context in contexts.py is baked at most once per session, on first use.
One virtualenv per Python version holds the baked projects' dependencies
(resolved from the default bake's own pyproject.toml) and every bake checked on
that Python is installed into it, editable and without dependencies: a fresh
virtualenv per bake would prove nothing more. The one test that needs a fresh
virtualenv (the user path: `make install && make test`) makes its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from containers import Unavailable, podman_env, podman_missing
from contexts import CONTEXTS, SLUGS, option_requirements
from helpers import TEMPLATE_DIR, UV, Bake, Venv, check, python_or_skip
from images import ImageBuilds
from manifests import Manifests, read_manifests
from pods import Pod
from tox_runs import Skipped, ToxResult, ToxRun

# `make test` runs this suite: without this, every make the tests run would
# see itself as a sub-make (MAKELEVEL) and print "Entering directory" lines,
# unlike the make a user runs.
for _variable in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
    os.environ.pop(_variable, None)


@pytest.fixture(scope="session")
def cookiecutter_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cookiecutter config of our own: the user's ~/.cookiecutterrc cannot
    change the answers, and replay files stay out of their home directory."""
    home = tmp_path_factory.mktemp("cookiecutter-home")
    config = home / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {home / 'templates'}\nreplay_dir: {home / 'replay'}\n"
    )
    return config


@pytest.fixture(scope="session")
def cookiecutter_env(cookiecutter_config: Path) -> dict[str, str]:
    """The environment for a cookiecutter (or make demo) subprocess."""
    return {**os.environ, "COOKIECUTTER_CONFIG": str(cookiecutter_config)}


def bake_factory(
    tmp_path_factory: pytest.TempPathFactory, config: Path, label: str
) -> Bake:
    """A bake(context) function that bakes each context once, on first use."""
    baked: dict[str, Path] = {}

    def _bake(context: str) -> Path:
        if context not in baked:
            output = tmp_path_factory.mktemp(f"{label}-{context}")
            project = cookiecutter(
                str(TEMPLATE_DIR),
                no_input=True,
                extra_context=CONTEXTS[context],
                output_dir=str(output),
                config_file=str(config),
            )
            baked[context] = Path(project)
            assert baked[context].name == SLUGS[context]
        return baked[context]

    return _bake


@pytest.fixture(scope="session")
def bake(tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path) -> Bake:
    """bake(context) -> the project's directory, where its own tools then run
    (and leave their caches)."""
    return bake_factory(tmp_path_factory, cookiecutter_config, "bake")


@pytest.fixture(scope="session")
def pristine(
    tmp_path_factory: pytest.TempPathFactory, cookiecutter_config: Path
) -> Bake:
    """pristine(context) -> a bake that nothing runs in: exactly what
    cookiecutter wrote. Baking is cheap; running the tools is what is shared."""
    return bake_factory(tmp_path_factory, cookiecutter_config, "pristine")


@pytest.fixture(params=list(CONTEXTS))
def context(request: pytest.FixtureRequest) -> str:
    """Each context in turn (contexts.py), for the checks of every bake."""
    return str(request.param)


@pytest.fixture
def project(pristine: Bake, context: str) -> Path:
    """That context's bake, exactly as cookiecutter wrote it."""
    return pristine(context)


@pytest.fixture
def manifests(project: Path) -> Manifests:
    """That bake's deploy/k8s resources, by kind (test_k8s_manifests.py and
    test_k8s_service.py)."""
    return read_manifests(project)


def uv_install(venv: Path) -> list[str | Path]:
    """The start of a command that installs into `venv` with uv."""
    return [UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python"]


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory, bake: Bake) -> Venv:
    """venv(python) -> a virtualenv on that Python with the baked projects'
    runtime and dev dependencies; skips when the machine lacks that Python."""
    made: dict[str, Path] = {}

    def _venv(python: str) -> Path:
        if python not in made:
            interpreter = python_or_skip(python)
            path = tmp_path_factory.mktemp(f"venv-py{python}")
            # uv makes it (with pip, as venv would) and installs into it in a
            # few seconds where pip takes half a minute: the user path
            # (test_user_path.py, make demo) is where pip runs as users run it.
            check(
                [UV, "venv", "--quiet", "--seed", "--python", interpreter, path], path
            )
            check(
                [
                    *uv_install(path),
                    "--editable",
                    f"{bake('default')}[dev]",
                    # what the other choices bring (servers, database drivers)
                    *option_requirements(bake),
                    # the build backend, to install other bakes without isolation
                    *("hatchling", "editables"),
                ],
                cwd=path,
            )
            made[python] = path
        return made[python]

    return _venv


@pytest.fixture(scope="session")
def installed(bake: Bake, venv: Venv) -> Callable[[str, str], Path]:
    """installed(context, python) -> that Python's virtualenv, with the bake in it."""
    done: set[tuple[str, str]] = set()

    def _installed(context: str, python: str) -> Path:
        path = venv(python)
        if (context, python) not in done:
            check(
                [
                    *uv_install(path),
                    "--no-deps",
                    *("--no-build-isolation", "--editable", bake(context)),
                ],
                cwd=bake(context),
            )
            done.add((context, python))
        return path

    return _installed


# Containers (containers.py). The tests marked `container` run last; when any
# of them needs the service's image, making it starts in the background as
# soon as the tests are collected, so that it is ready by the time they run.
IMAGE_BUILDS = pytest.StashKey[ImageBuilds]()


def image_builds(config: pytest.Config) -> ImageBuilds:
    """The session's ImageBuilds, made on first use."""
    if IMAGE_BUILDS not in config.stash:
        workdir = Path(tempfile.mkdtemp(prefix="quart-template-images-"))
        config.stash[IMAGE_BUILDS] = ImageBuilds(podman_env(workdir), workdir=workdir)
    return config.stash[IMAGE_BUILDS]


@pytest.hookimpl(trylast=True)  # after deselection (-k, -m): the final list
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    def is_container(item: pytest.Item) -> bool:
        return item.get_closest_marker("container") is not None

    items.sort(key=is_container)  # stable: the order is kept otherwise
    config.stash[NEEDED] = {
        name for item in items for name in getattr(item, "fixturenames", ())
    }


# What the collected tests need, for the background work to start.
NEEDED = pytest.StashKey[set[str]]()
# The bakes' own suites, which test_baked_project.py runs two at a time, keep
# both cores busy: the background work starts with the first test after them.
BUSY_MODULES = {"test_baked_project.py"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.name in BUSY_MODULES:
        return
    needed = item.config.stash.get(NEEDED, set())
    if not needed:
        return
    if needed & {"container_image", "kube_pod"}:
        image_builds(item.config).start(with_pod="kube_pod" in needed)
    if "tox_run" in needed:
        tox_run_of(item.config).start()
    item.config.stash[NEEDED] = set()  # started once


def pytest_sessionfinish(session: pytest.Session) -> None:
    if IMAGE_BUILDS in session.config.stash:
        session.config.stash[IMAGE_BUILDS].close()
    if TOX_RUN in session.config.stash:
        session.config.stash[TOX_RUN].close()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if IMAGE_BUILDS in config.stash and config.stash[IMAGE_BUILDS].timings:
        timings = config.stash[IMAGE_BUILDS].timings
        terminalreporter.write_line(
            "container image, made in the background: "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
        )


@pytest.fixture(scope="session")
def podman(pytestconfig: pytest.Config) -> dict[str, str]:
    """The environment for podman commands (containers.conf); skips, saying
    what is missing, where podman cannot run containers."""
    env = image_builds(pytestconfig).env
    missing = podman_missing(env)
    if missing:
        pytest.skip(missing)
    return env


@pytest.fixture(scope="session")
def container_image(pytestconfig: pytest.Config, podman: dict[str, str]) -> str:
    """The default bake's image (built on a local stand-in for the official
    python image), shared by the session; removed when it ends."""
    try:
        return image_builds(pytestconfig).image()
    except Unavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def gateway_image(pytestconfig: pytest.Config, container_image: str) -> str:
    """A stand-in for the official nginx image (containers.py), made after
    the service's image; removed when the session ends."""
    try:
        return image_builds(pytestconfig).gateway_image()
    except Unavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def kube_pod(pytestconfig: pytest.Config, container_image: str) -> Pod:
    """The default bake's deploy/k8s played by podman on its image, started
    in the background once the image exists (pods.py); torn down when the
    session ends."""
    try:
        return image_builds(pytestconfig).pod()
    except Unavailable as error:
        pytest.skip(str(error))


# tox on a fresh bake (tox_runs.py) takes a minute: it runs in the background
# (see pytest_runtest_setup), when a test asks for its result.
TOX_RUN = pytest.StashKey[ToxRun]()


def tox_run_of(config: pytest.Config) -> ToxRun:
    """The session's ToxRun, made on first use."""
    if TOX_RUN not in config.stash:
        config.stash[TOX_RUN] = ToxRun()
    return config.stash[TOX_RUN]


@pytest.fixture(scope="session")
def tox_run(pytestconfig: pytest.Config) -> ToxResult:
    """tox on a fresh default bake: its oldest and newest Python the machine
    has, lint and typecheck; skips when the machine has none of its Pythons."""
    try:
        return tox_run_of(pytestconfig).result()
    except Skipped as error:
        pytest.skip(str(error))
