"""Shared fixtures: an app running inside `test_app()` and a client for it."""

from collections.abc import AsyncIterator

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app


@pytest.fixture
async def app() -> AsyncIterator[Quart]:
    """The app with its startup and shutdown hooks run around each test."""
    app = create_app(TESTING=True)
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()
