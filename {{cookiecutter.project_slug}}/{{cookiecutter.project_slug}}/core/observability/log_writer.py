"""Where log lines go: stderr, written by a `log-writer` thread of its own.

The event loop only queues a formatted line, so a blocked stderr never
stalls a request. No line is lost on a graceful shutdown: the thread writes
what is left, and lines are written directly once serving has stopped. While
the output stays blocked, at most MAX_PENDING lines wait; later ones are
dropped, and their count is logged when the output moves again.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import weakref
from contextlib import suppress
from queue import Empty, SimpleQueue
from typing import TextIO

MAX_PENDING = 100_000
# How often flush() looks whether the writer is still there to wait for.
IDLE_CHECK = 0.1
# How long the writer lets lines gather once one has come (unless a flush
# hurries it): waking the thread for each line would cost the event loop
# more than the line itself.
GATHER = 0.02

_handlers: weakref.WeakSet[BackgroundStreamHandler] = weakref.WeakSet()


class BackgroundStreamHandler(logging.Handler):
    """A handler that formats in the caller's thread and writes in its own."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = sys.stderr if stream is None else stream
        self._start()
        _handlers.add(self)

    def _start(self) -> None:
        # Lines, Events to set once the lines before them are written, and
        # None to stop the writer once they are.
        self._lines: SimpleQueue[str | threading.Event | None] = SimpleQueue()
        self.dropped = 0  # counted by the caller, reset by the writer
        self.direct = False  # see write_directly
        self._hurry = threading.Event()  # set by flush: no gathering
        self._writer = threading.Thread(
            target=self._write, args=(self._lines, self._hurry), name="log-writer"
        )
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.put(self.format(record))
        except Exception:
            self.handleError(record)

    def put(self, line: str) -> None:
        """Queue one formatted line (without its newline) for writing."""
        if self.direct:
            self._write_batch([line])
        elif self._lines.qsize() < MAX_PENDING:
            self._lines.put(line)
        else:
            self.dropped += 1

    def flush(self) -> None:
        """Wait until the lines queued so far are written (or the writer has
        stopped)."""
        written = threading.Event()
        self._lines.put(written)
        self._hurry.set()
        while self._writer.is_alive() and not written.wait(IDLE_CHECK):
            pass

    def close(self) -> None:
        """Write what is queued; the writer goes on (see above)."""
        self.flush()
        super().close()

    def _write(
        self,
        queue: SimpleQueue[str | threading.Event | None],
        hurry: threading.Event,
    ) -> None:
        # The queue it was started with: a restarted handler (_start) has a
        # new one, and its new writer.
        while True:
            batch = [queue.get()]
            hurry.wait(GATHER)
            hurry.clear()
            while True:
                try:
                    batch.append(queue.get_nowait())
                except Empty:
                    break
            self._write_batch(batch)
            if None in batch:
                return

    def stop(self) -> None:
        """Write what is queued, end the writer, then write each line as it
        comes, in the caller's thread."""
        self.flush()
        self.direct = True
        self._lines.put(None)
        self._hurry.set()
        self._writer.join()

    def _write_batch(self, batch: list[str | threading.Event | None]) -> None:
        lines = [line for line in batch if isinstance(line, str)]
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            lines.append(self.format(dropped_record(dropped)))
        if lines:
            # stderr closed or gone: nowhere left to say so
            with suppress(OSError, ValueError):
                self._write_lines(lines)
        for marker in batch:
            if isinstance(marker, threading.Event):
                marker.set()

    def _write_lines(self, lines: list[str]) -> None:
        """Write every line, waiting for the output as long as it takes.

        To a file descriptor, lines go directly and whole, in writes of at
        most PIPE_BUF bytes, which a pipe takes at once or not at all: the
        pipe may be shared (granian's main process writes to the worker's
        stderr), and a larger write, split when the pipe is full, would let
        another process's line into the middle of one of ours. The pipe may
        also have been made non-blocking by another process; a text stream
        would lose the line it refuses.
        """
        try:
            descriptor = self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # a stream in memory
            self.stream.write("".join(f"{line}\n" for line in lines))
            self.stream.flush()
            return
        self.stream.flush()  # what was written to the stream itself goes first
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        chunk = bytearray()
        for line in lines:
            encoded = f"{line}\n".encode(encoding, "backslashreplace")
            if chunk and len(chunk) + len(encoded) > select.PIPE_BUF:
                write_all(descriptor, chunk)
                chunk.clear()
            chunk += encoded
        write_all(descriptor, chunk)


def write_all(descriptor: int, data: bytes | bytearray) -> None:
    """All of `data`, as long as the output takes to accept it."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(descriptor, view) :]
        except BlockingIOError:
            select.select([], [descriptor], [])


def dropped_record(count: int) -> logging.LogRecord:
    return logging.LogRecord(
        __name__,
        logging.WARNING,
        __file__,
        0,
        "%d log lines dropped while the log output was blocked",
        (count,),
        None,
    )


def write_directly() -> None:
    """Write what is queued, then each line as it comes, in the caller's
    thread: for when serving has stopped (lifecycle.py)."""
    for handler in list(_handlers):
        handler.flush()
        handler.direct = True


def _stop_writers() -> None:
    for handler in list(_handlers):
        handler.stop()


def _restart_writers() -> None:
    # A forked child has the parent's handlers but not their threads.
    for handler in list(_handlers):
        handler._start()


# Called on the way out before the interpreter waits for its threads, as
# concurrent.futures does for its workers; the public atexit comes too late
# (after that wait) and never in multiprocessing's workers. Watching
# main_thread().is_alive() from the writer instead raced with the
# interpreter's own shutdown and could leave it waiting for ever.
threading._register_atexit(_stop_writers)  # type: ignore[attr-defined]
os.register_at_fork(after_in_child=_restart_writers)
