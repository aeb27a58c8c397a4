"""Readiness and draining, for /readyz (core/serving/probes.py).

The service is starting, ready, draining (from SIGTERM on) or stopped;
/readyz answers 503 unless it is ready and every readiness check passes.
While draining, every response says `Connection: close`. The SIGTERM handler
marks draining and passes the signal on to the server's own handler.
docs/serving.md says how this meets each server.
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Literal

from quart import Quart
from quart.typing import ResponseTypes

from ..observability.log_writer import write_directly

ReadinessCheck = Callable[[], Awaitable[object]]
SignalHandler = Callable[[int, FrameType | None], object] | int | None
State = Literal["starting", "ready", "draining", "stopped"]
EXTENSION = "readiness"


@dataclass
class Readiness:
    """The service's state and its readiness checks, by name."""

    state: State = "starting"
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)

    async def failed_checks(self, limit: float) -> dict[str, str]:
        """Run every check at once, each for at most `limit` seconds.

        Returns the failed checks' names and reasons.
        """
        names = list(self.checks)
        results = await asyncio.gather(
            *(asyncio.wait_for(self.checks[name](), limit) for name in names),
            return_exceptions=True,
        )
        return {
            name: _reason(result)
            for name, result in zip(names, results, strict=True)
            if isinstance(result, BaseException)
        }


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    detail = first_line(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def first_line(error: BaseException) -> str:
    """An error's message up to its first line break: a database error's
    next lines are background (the SQL, a link), not the reason."""
    return (str(error).splitlines() or [""])[0]


def readiness(app: Quart) -> Readiness:
    readiness: Readiness = app.extensions[EXTENSION]
    return readiness


def add_readiness_check(app: Quart, name: str, check: ReadinessCheck) -> None:
    """Make /readyz await `check()`; it fails if the check raises or times out.

    For example, a database pool's `ping`; keep checks cheap, /readyz is polled.
    """
    readiness(app).checks[name] = check


class DrainOnSigterm:
    """The SIGTERM handler while the app serves (see the module docstring)."""

    def __init__(
        self, app: Quart, state: Readiness, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.app = app
        self.state = state
        self.loop = loop
        self.previous: SignalHandler = signal.signal(signal.SIGTERM, self)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.state.state == "ready":
            self.state.state = "draining"
            # Logged from the event loop: a signal handler may interrupt a
            # log call in progress, and must not write a line inside it. In
            # an empty context: not in that of the request it interrupted.
            message = "SIGTERM: draining; /readyz now answers 503"
            self.loop.call_soon_threadsafe(
                self.app.logger.info, message, context=contextvars.Context()
            )
        if callable(self.previous):
            self.previous(signum, frame)

    def restore(self) -> None:
        signal.signal(signal.SIGTERM, self.previous)


def init_lifecycle(app: Quart) -> None:
    """Track the app's state and drain on SIGTERM while it serves."""
    state = app.extensions[EXTENSION] = Readiness()
    handler: DrainOnSigterm | None = None

    @app.before_serving
    async def serving() -> None:
        nonlocal handler
        # Only the main thread may set signal handlers; an app served in
        # another thread leaves signals to whoever runs that thread.
        if threading.current_thread() is threading.main_thread():
            handler = DrainOnSigterm(app, state, asyncio.get_running_loop())
        state.state = "ready"

    @app.after_request
    async def close_while_draining(response: ResponseTypes) -> ResponseTypes:
        if state.state == "draining":
            response.headers["Connection"] = "close"
        return response

    @app.after_serving
    async def stopped() -> None:
        nonlocal handler
        state.state = "stopped"
        app.logger.info("serving stopped")
        write_directly()  # no request left to stall: lose no line at exit
        if handler is not None:
            handler.restore()
            handler = None
