"""A SIGTERM that reaches a granian worker while it loads the app stops it
once it serves; outside a granian worker nothing is caught."""

import os
import signal
from types import FrameType

import pytest

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.serving.granian_workers import (
    SigtermWhileLoading,
)
from {{ cookiecutter.project_slug }}.core.serving.lifecycle import readiness


class GranianMainServer:
    """Stands for granian's server object in its main process (`pid`): a
    worker it forks inherits its SIGTERM handler, which only sets a flag."""

    def __init__(self, pid: int, interrupted: bool = False) -> None:
        self.pid = pid
        self.interrupt_signal = interrupted

    def signal_handler_interrupt(self, signum: int, frame: FrameType | None) -> None:
        self.interrupt_signal = True


GranianMainServer.__module__ = "granian.server.mp"


@pytest.mark.parametrize("when", ["before the app loads", "while it loads"])
async def test_a_sigterm_to_a_granian_worker_that_loads_stops_it_once_serving(
    when: str,
) -> None:
    loading = SigtermWhileLoading()
    main = GranianMainServer(os.getppid(), when == "before the app loads")
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, main.signal_handler_interrupt)
    try:
        loading.catch()  # as asgi.py does
        if when == "while it loads":
            os.kill(os.getpid(), signal.SIGTERM)
        assert loading.caught
        # The worker's own handler, which granian installs before serving.
        signal.signal(signal.SIGTERM, lambda signum, _: received.append(signum))
        app = create_app()
        loading.stop_once_serving(app)  # as asgi.py does
        async with app.test_app():
            assert readiness(app).state == "draining"
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert received == [signal.SIGTERM]


@pytest.mark.parametrize("where", ["no granian", "granian's own process"])
def test_outside_a_granian_worker_sigterm_is_not_caught_while_loading(
    where: str,
) -> None:
    loading = SigtermWhileLoading()
    main = GranianMainServer(os.getpid(), interrupted=True)
    previous = signal.getsignal(signal.SIGTERM)
    if where == "granian's own process":  # its threads serve: no fork
        signal.signal(signal.SIGTERM, main.signal_handler_interrupt)
    before = signal.getsignal(signal.SIGTERM)
    try:
        loading.catch()
        assert signal.getsignal(signal.SIGTERM) == before
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert not loading.caught


async def test_a_worker_that_had_no_sigterm_while_loading_serves() -> None:
    app = create_app()
    SigtermWhileLoading().stop_once_serving(app)

    async with app.test_app():
        assert readiness(app).state == "ready"
