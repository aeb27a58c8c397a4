"""The servers' entry point: logging set up first, then the app."""

import gc
import logging
import resource
from collections.abc import Iterator

import pytest
from quart import Quart

from {{ cookiecutter.project_slug }}.core.observability.logs import (
    JsonFormatter,
)


@pytest.fixture
def open_file_limit() -> Iterator[tuple[int, int]]:
    """The process's limit on open files, restored after the test."""
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield limits
    resource.setrlimit(resource.RLIMIT_NOFILE, limits)


@pytest.fixture
def collector() -> Iterator[None]:
    """The garbage collector's settings, restored after the test."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restore_logging", "collector")
async def test_asgi_module_sets_up_logging_then_serves_the_app() -> None:
    from {{ cookiecutter.project_slug }}.asgi import app

    assert isinstance(app, Quart)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)  # LOG_FORMAT's default
    response = await app.test_client().get("/")
    assert response.status_code == 200


@pytest.mark.usefixtures("restore_logging", "collector")
def test_the_collector_freezes_what_the_app_made_and_runs_less_often() -> None:
    from {{ cookiecutter.project_slug }}.asgi import (
        GC_YOUNG_THRESHOLD,
        tune_garbage_collector,
    )

    gc.unfreeze()
    default = gc.get_threshold()

    tune_garbage_collector()

    assert gc.get_freeze_count() > 10_000  # the modules' objects, at least
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *default[1:])
    gc.collect()  # a full collection still works, and leaves them frozen
    assert gc.get_freeze_count() > 10_000


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
