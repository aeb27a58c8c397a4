"""A SIGTERM that reaches a granian worker while it loads the app.

granian forks its workers with its main process's SIGTERM handler, which in a
worker only sets a flag; the worker's own handler comes once the app is
loaded. asgi.py catches a SIGTERM in between (`SIGTERM_WHILE_LOADING.catch()`)
and raises it again as soon as the worker serves (`stop_once_serving`), so the
worker stops at once instead of serving until the main process kills it.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

from quart import Quart


class SigtermWhileLoading:
    """Whether a SIGTERM reached this granian worker while it loaded the app."""

    def __init__(self) -> None:
        self.caught = False

    def catch(self) -> None:
        """In a granian worker, take over from the handler inherited from the
        main process, and note whether it has already had a SIGTERM."""
        inherited = signal.getsignal(signal.SIGTERM)
        # The worker's copy of the main process's server object: its pid is
        # the parent's (in the main process itself, it would be its own).
        server = getattr(inherited, "__self__", None)
        granian = type(server).__module__.startswith("granian.")
        if granian and getattr(server, "pid", None) == os.getppid():
            self.caught = bool(getattr(server, "interrupt_signal", False))
            signal.signal(signal.SIGTERM, self.note)

    def note(self, signum: int, frame: FrameType | None) -> None:
        self.caught = True

    def stop_once_serving(self, app: Quart) -> None:
        """Raise the SIGTERM caught while loading once `app` serves, when
        granian's own handler is in place."""

        @app.before_serving
        async def stop_if_asked() -> None:
            if self.caught:
                signal.raise_signal(signal.SIGTERM)


SIGTERM_WHILE_LOADING = SigtermWhileLoading()
