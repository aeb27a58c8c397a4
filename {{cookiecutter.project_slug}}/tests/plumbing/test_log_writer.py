"""The log writer: a blocked output never blocks the caller, and no line is
lost on the way out."""

import io
import logging
import os
import subprocess
import sys
import threading
import weakref

import pytest

from {{ cookiecutter.project_slug }}.core.observability import log_writer, logs
from {{ cookiecutter.project_slug }}.core.observability.log_writer import (
    BackgroundStreamHandler,
)


class BlockedStream(io.StringIO):
    """A stream whose writes wait until it is opened, like a full pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()  # a write has begun (and waits)
        self.opened = threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        self.opened.wait()
        return super().write(text)


def emit(handler: logging.Handler, message: str) -> None:
    record = {"msg": message, "levelno": logging.INFO, "levelname": "INFO"}
    handler.handle(logging.makeLogRecord(record))


def test_lines_queue_while_the_output_is_blocked() -> None:
    stream = BlockedStream()
    handler = BackgroundStreamHandler(stream)

    for number in range(1000):  # returns at once: the output waits, not the caller
        emit(handler, f"line {number}")
    assert stream.getvalue() == ""

    threading.Timer(0.3, stream.opened.set).start()
    handler.flush()  # waits for the output
    assert stream.getvalue().splitlines() == [f"line {n}" for n in range(1000)]
    handler.close()


def test_a_full_non_blocking_pipe_loses_no_line() -> None:
    """A pipe someone else made non-blocking refuses writes while it is full."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    handler = BackgroundStreamHandler(os.fdopen(write_end, "w"))
    lines = [f"line {number} " + "x" * 100 for number in range(2000)]  # > 64 KiB

    for line in lines:
        emit(handler, line)
    received = bytearray()
    reader = threading.Thread(target=read_all, args=(read_end, received))
    threading.Timer(0.3, reader.start).start()  # once the pipe is full
    handler.flush()
    handler.stream.close()
    reader.join(timeout=10)

    assert received.decode().splitlines() == lines


def read_all(descriptor: int, into: bytearray) -> None:
    with os.fdopen(descriptor, "rb") as pipe:
        while chunk := pipe.read1():
            into += chunk


def test_close_writes_what_is_queued() -> None:
    stream = BlockedStream()
    handler = BackgroundStreamHandler(stream)
    emit(handler, "last words")

    threading.Timer(0.1, stream.opened.set).start()
    handler.close()

    assert stream.getvalue() == "last words\n"


def test_a_closed_handler_still_writes() -> None:
    """As hypercorn's dictConfig leaves it: closed, still on the root logger."""
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.close()

    emit(handler, "after close")
    handler.flush()

    assert stream.getvalue() == "after close\n"


def test_lines_past_the_bound_are_dropped_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(log_writer, "MAX_PENDING", 3)
    stream = BlockedStream()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    emit(handler, "first")
    stream.writing.wait()  # the writer is stuck with it
    for number in range(10):
        emit(handler, f"line {number}")
    stream.opened.set()
    handler.flush()

    assert stream.getvalue().splitlines() == [
        "INFO first",
        "INFO line 0",
        "INFO line 1",
        "INFO line 2",
        "WARNING 7 log lines dropped while the log output was blocked",
    ]
    handler.close()


def test_a_line_that_fails_to_format_is_reported_not_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = BackgroundStreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(missing)s"))

    emit(handler, "never formatted")
    handler.close()

    assert "Logging error" in capsys.readouterr().err


def test_an_unwritable_output_loses_the_lines_quietly() -> None:
    stream = io.StringIO()
    stream.close()
    handler = BackgroundStreamHandler(stream)

    emit(handler, "nowhere to go")
    handler.flush()
    handler.close()


def test_once_serving_has_stopped_lines_are_written_as_they_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    emit(handler, "queued")
    monkeypatch.setattr(log_writer, "_handlers", weakref.WeakSet([handler]))

    log_writer.write_directly()
    assert stream.getvalue() == "queued\n"
    emit(handler, "written at once")

    assert stream.getvalue() == "queued\nwritten at once\n"


def test_on_the_way_out_the_writer_writes_what_is_queued_and_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the interpreter runs before it waits for its threads."""
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    emit(handler, "queued")
    monkeypatch.setattr(log_writer, "_handlers", weakref.WeakSet([handler]))

    log_writer._stop_writers()
    assert not handler._writer.is_alive()
    assert stream.getvalue() == "queued\n"
    emit(handler, "after the writer")
    handler.flush()  # nothing left to wait for

    assert stream.getvalue() == "queued\nafter the writer\n"


def test_a_handler_restarts_its_writer_after_a_fork(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    parents, parents_lines = handler._writer, handler._lines
    monkeypatch.setattr(log_writer, "_handlers", weakref.WeakSet([handler]))

    log_writer._restart_writers()  # what a forked child runs
    parents_lines.put(None)  # a real fork leaves no parent's writer behind
    emit(handler, "after the fork")
    handler.flush()

    assert handler._writer is not parents
    assert stream.getvalue() == "after the fork\n"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_logs() -> None:
    read_end, write_end = os.pipe()
    handler = BackgroundStreamHandler(os.fdopen(write_end, "w"))
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        emit(handler, "from the child")
        handler.close()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    handler.close()
    handler.stream.close()  # the child's end closed too: the pipe ends
    with os.fdopen(read_end) as output:
        assert output.read() == "from the child\n"
    assert os.waitstatus_to_exitcode(status) == 0


def test_no_line_is_lost_when_the_interpreter_exits() -> None:
    """The writer is not a daemon: the interpreter stops it, then waits for
    it (a writer left waiting would hang the exit past the timeout)."""
    program = (
        "import logging\n"
        f"from {logs.__name__} import configure_logging\n"
        "configure_logging('INFO', 'text')\n"
        "for number in range(5000):\n"
        "    logging.getLogger('exit').info('line %d', number)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    lines = done.stderr.splitlines()
    assert len(lines) == 5000
    assert lines[-1].endswith("line 4999")
