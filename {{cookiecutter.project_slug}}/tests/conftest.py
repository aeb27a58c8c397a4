"""Shared fixtures: an app running inside `test_app()` and a client for it."""

import logging
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app, settings


@pytest.fixture(autouse=True)
def packaged_settings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the caller's settings file and variables out of every test."""
    monkeypatch.delenv(settings.SETTINGS_FILE_VARIABLE, raising=False)
    for name in list(os.environ):
        if name.startswith(f"{settings.ENV_PREFIX}_"):
            monkeypatch.delenv(name)


@pytest.fixture
async def app() -> AsyncIterator[Quart]:
    """The app with its startup and shutdown hooks run around each test."""
    app = create_app(TESTING=True)
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo configure_logging (which asgi.py runs) after the test."""
    for switch in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, switch, getattr(logging, switch))
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
