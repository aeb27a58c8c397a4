"""The servers' entry point: logging set up first, then the app."""

import logging
import resource
from collections.abc import Iterator

import pytest
from quart import Quart

from {{ cookiecutter.project_slug }}.core.logs import JsonFormatter


@pytest.fixture
def open_file_limit() -> Iterator[tuple[int, int]]:
    """The process's limit on open files, restored after the test."""
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield limits
    resource.setrlimit(resource.RLIMIT_NOFILE, limits)


@pytest.mark.usefixtures("restore_logging")
async def test_asgi_module_sets_up_logging_then_serves_the_app() -> None:
    from {{ cookiecutter.project_slug }}.asgi import app

    assert isinstance(app, Quart)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)  # LOG_FORMAT's default
    response = await app.test_client().get("/")
    assert response.status_code == 200


@pytest.mark.usefixtures("restore_logging")
def test_the_open_file_limit_is_raised_to_the_hard_limit(
    open_file_limit: tuple[int, int],
) -> None:
    from {{ cookiecutter.project_slug }}.asgi import raise_open_file_limit

    hard = open_file_limit[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))

    raise_open_file_limit()

    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    raise_open_file_limit()  # already there: nothing to change


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    ("limits", "wanted"),
    [((1024, resource.RLIM_INFINITY), 65536), ((1024, 4096), 4096)],
    ids=["unlimited", "limited"],
)
def test_an_unlimited_hard_limit_is_capped(
    monkeypatch: pytest.MonkeyPatch, limits: tuple[int, int], wanted: int
) -> None:
    from {{ cookiecutter.project_slug }}.asgi import raise_open_file_limit

    asked: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _: limits)
    monkeypatch.setattr(resource, "setrlimit", lambda _, pair: asked.append(pair))

    raise_open_file_limit()

    assert asked == [(wanted, limits[1])]


@pytest.mark.usefixtures("restore_logging")
def test_a_refused_raise_leaves_the_limit_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from {{ cookiecutter.project_slug }}.asgi import raise_open_file_limit

    def refuse(resource_id: int, limits: tuple[int, int]) -> None:
        raise ValueError("not allowed to raise the maximum limit")

    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    monkeypatch.setattr(resource, "setrlimit", refuse)

    raise_open_file_limit()  # no error: the service starts with what it has
