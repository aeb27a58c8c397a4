"""The servers' entry point: logging set up first, then the app."""

import logging

import pytest
from quart import Quart

from {{ cookiecutter.project_slug }}.logs import JsonFormatter


@pytest.mark.usefixtures("restore_logging")
async def test_asgi_module_sets_up_logging_then_serves_the_app() -> None:
    from {{ cookiecutter.project_slug }}.asgi import app

    assert isinstance(app, Quart)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)  # LOG_FORMAT's default
    response = await app.test_client().get("/")
    assert response.status_code == 200
