"""The fast tier: the default bake's own tests start in the background with
the tier's first test and are read by the last one, so that the tier takes
about as long as the longer of the two, not their sum."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contexts import python_of
from helpers import Bake

BACKGROUND_TEST = "test_default_bake_passes_its_own_tests"


@pytest.hookimpl(tryfirst=True)  # before the root conftest's stable sort
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.name == BACKGROUND_TEST)


@pytest.fixture(scope="session")
def default_bake_tests(
    bake: Bake, installed: Callable[[str, str], Path]
) -> Iterator[subprocess.Popen[str]]:
    """The default bake's pytest, running; killed if the session ends first."""
    venv = installed("default", python_of("default"))
    process = subprocess.Popen(
        [venv / "bin" / "python", "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=bake("default"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(autouse=True)
def _start_default_bake_tests(request: pytest.FixtureRequest) -> None:
    """Start the default bake's tests with the tier's first test."""
    collected = request.session.items
    if any(item.name == BACKGROUND_TEST for item in collected):
        request.getfixturevalue("default_bake_tests")
