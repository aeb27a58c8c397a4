"""tox on a fresh default bake, in a background thread once the bakes' own
runs are done (conftest.py starts it when a test asks for `tox_run`): the bake's
own tox.ini, on the oldest and newest Python the machine has, then lint and
typecheck. It takes about a minute, mostly the bake's tests and mypy, which
the rest of the suite would otherwise wait for."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from containers import NICE, Steps
from contexts import PYTHONS, python_of
from helpers import find_python
from images import bake_context
from workflows import TOX


@dataclass
class ToxResult:
    pythons: list[str]  # the tox environments of Pythons run
    returncode: int
    output: str
    seconds: float


class Skipped(Exception):
    """tox cannot run here; the message says why."""


def pythons_to_run(context: str = "default") -> dict[str, Path]:
    """The oldest and the newest Python the bake supports that the machine
    has (one, when it has only one), with their interpreters."""
    oldest = PYTHONS.index(python_of(context))
    found = {
        minor: path
        for minor in PYTHONS[oldest:]
        if (path := find_python(minor)) is not None
    }
    if not found:
        raise Skipped(f"none of Python {', '.join(PYTHONS[oldest:])} is here")
    chosen = sorted({min(found), max(found)})
    return {minor: found[minor] for minor in chosen}


@dataclass
class ToxRun:
    """The session's tox run, made once in the background."""

    workdir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="quart-template-tox-"))
    )
    _executor: ThreadPoolExecutor | None = None
    _future: Future[ToxResult] | None = None
    _process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._future is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="tox")
            self._future = self._executor.submit(self._run)

    def result(self, timeout: float = 900) -> ToxResult:
        """The run's result, once done; raises Skipped when tox cannot run."""
        self.start()
        assert self._future is not None
        return self._future.result(timeout=timeout)

    def _run(self) -> ToxResult:
        started = time.monotonic()
        interpreters = pythons_to_run()
        project = bake_context("default", self.workdir, Steps())
        # Each interpreter's directory first on PATH, as on a machine that
        # has them all; uv never downloads one in their place.
        path = os.pathsep.join(str(p.parent) for p in interpreters.values())
        env = {
            **os.environ,
            "PATH": f"{path}{os.pathsep}{os.environ['PATH']}",
            "UV_PYTHON_DOWNLOADS": "never",
        }
        env.pop("VIRTUAL_ENV", None)
        envs = [*interpreters, "lint", "typecheck"]
        log = self.workdir / "tox.log"
        with log.open("wb") as sink:
            self._process = subprocess.Popen(
                [*NICE, TOX, "run", "-e", ",".join(envs)],
                cwd=project,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            returncode = self._process.wait(timeout=900)
        return ToxResult(
            pythons=list(interpreters),
            returncode=returncode,
            output=log.read_text(errors="replace"),
            seconds=time.monotonic() - started,
        )

    def close(self) -> None:
        """Stop tox if it is still running, then remove what it made."""
        if self._process is not None and self._process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.workdir, ignore_errors=True)
