"""Logging for the served app: one handler on the root logger, so that the
service's, Quart's and the server's records share one format.

`configure_logging` runs in asgi.py before the app is built. `LOG_FORMAT:
json` writes one object a line (`time`, `level`, `logger`, `message` and the
request's fields); `text` writes readable lines. Neither lets a logged value
start a line of its own. `log_access` writes the access line; lines go to
stderr through core/observability/log_writer.py.
"""

from __future__ import annotations

import functools
import logging
import logging.config
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from .log_writer import BackgroundStreamHandler

# Record attributes copied into a line when a record has them (the access
# line passes all of them; any record made during a request has request_id).
REQUEST_FIELDS = (
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "remote_addr",
)

# Loggers that servers give handlers of their own: emptied and propagating, so
# their records reach the root handler once. (hypercorn sets its handlers after
# the app is imported; hypercorn.toml's logconfig_dict empties them again.)
SERVER_LOGGERS = ("hypercorn.error", "uvicorn", "uvicorn.error", "_granian")

# The servers' access loggers are silenced: the service logs each request
# itself (request_context.py), the same way whichever server runs it.
SERVER_ACCESS_LOGGERS = ("hypercorn.access", "uvicorn.access", "granian.access")

# Libraries that log every outgoing call at INFO, with its whole URL (query
# string and any user:password@ included): warnings and errors only. The
# service logs a failed call itself (core/service_calls/client.py), without
# the query string.
QUIET_LOGGERS = ("httpx", "httpcore")


# Set by request_context.py for the time a request runs.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The ID of the request being handled, or None outside a request."""
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Stamp each record with the ID of the request it was logged in, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


@functools.lru_cache(maxsize=4)
def _second(epoch_second: int) -> str:
    return datetime.fromtimestamp(epoch_second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _time(created: float) -> str:
    """ISO 8601 in UTC to the millisecond; the part up to the second is
    formatted once a second, not on every line."""
    second = int(created)
    return f"{_second(second)}.{int((created - second) * 1000):03d}+00:00"


# Characters that end or garble a line, as `str.splitlines` and terminals see
# them: C0 controls, DEL, C1 controls (NEL among them) and the Unicode line
# and paragraph separators. The JSON encoder escapes C0 itself.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in _CONTROLS if code >= 0x20}
_TEXT_ESCAPES = {code: repr(chr(code))[1:-1] for code in _CONTROLS}


def _encode(line: dict[str, Any]) -> str:
    """One JSON object on one line. orjson escapes C0 controls; the rest of
    _CONTROLS are escaped here, in the rare line that has any."""
    encoded = orjson.dumps(line, default=str)
    if encoded.isascii() and b"\x7f" not in encoded:
        return encoded.decode()
    return encoded.decode().translate(_JSON_ESCAPES)


def escape_controls(text: str) -> str:
    """`text` on one line, its control characters written as escapes."""
    return text.translate(_TEXT_ESCAPES)


def _indented(text: str) -> str:
    """A traceback's lines, each indented and with its controls escaped."""
    return "".join(f"\n    {escape_controls(line)}" for line in text.splitlines())


class LineFormatter(logging.Formatter):
    """A formatter whose lines can also be made without a LogRecord."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            field: value
            for field in REQUEST_FIELDS
            if (value := getattr(record, field, None)) is not None
        }
        extra = []
        if record.exc_info:
            extra.append(("exception", self.formatException(record.exc_info)))
        if record.stack_info:
            extra.append(("stack", self.formatStack(record.stack_info)))
        return self.line(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            fields,
            extra,
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        extra: list[tuple[str, str]] | None = None,
    ) -> str:
        """The line; `fields` are REQUEST_FIELDS, `extra` a traceback or stack."""
        raise NotImplementedError


class JsonFormatter(LineFormatter):
    """One JSON object a line."""

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        extra: list[tuple[str, str]] | None = None,
    ) -> str:
        line = {
            "time": _time(created),
            "level": level,
            "logger": logger,
            "message": message,
            **fields,
        }
        if extra:
            line.update(extra)
        return _encode(line)


class TextFormatter(LineFormatter):
    """`<time> <LEVEL> <logger> [<request id>] <message>`, then any traceback,
    indented."""

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        extra: list[tuple[str, str]] | None = None,
    ) -> str:
        request_id = fields.get("request_id") or "-"
        line = escape_controls(
            f"{_time(created)} {level:<8} {logger} [{request_id}] {message}"
        )
        for _, text in extra or ():
            line += _indented(text)
        return line


FORMATTERS: dict[str, type[LineFormatter]] = {
    "json": JsonFormatter,
    "text": TextFormatter,
}


def configure_logging(level: str = "INFO", log_format: str = "json") -> None:
    """Send every record to stderr, formatted as `log_format`, from `level` up.

    `load_settings` has checked both (LOG_LEVEL and LOG_FORMAT).
    """
    # Records need no thread, process or caller details: no format shows
    # them, and collecting them costs on every access line. These switches are
    # the ones the logging HOWTO's "Optimization" section gives.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    # A library's warning (SQLAlchemy's SAWarning, say) is a record too, in
    # the log's format, rather than a raw line on stderr.
    logging.captureWarnings(True)
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {"default": {"()": FORMATTERS[log_format]}},
            "handlers": {
                "stderr": {
                    "()": BackgroundStreamHandler,
                    "stream": "ext://sys.stderr",
                    "formatter": "default",
                    "filters": ["request_id"],
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
            "loggers": {
                **{
                    name: {"handlers": [], "propagate": True, "level": "NOTSET"}
                    for name in SERVER_LOGGERS
                },
                **{
                    name: {"handlers": [], "propagate": False}
                    for name in SERVER_ACCESS_LOGGERS
                },
                **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
            },
        }
    )


def log_access(
    logger: logging.Logger,
    request_id: str,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    remote_addr: str | None,
) -> None:
    """Log a request's access line to `logger` at INFO, if it is enabled."""
    if not logger.isEnabledFor(logging.INFO):
        return
    message = f"{method} {path} {status}"
    fields = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "remote_addr": remote_addr,
    }
    handler = _only_handler(logger)
    if handler is None:
        logger.info("%s", message, extra=fields)
        return
    if remote_addr is None:
        del fields["remote_addr"]  # as the formatters leave out a None
    formatter = handler.formatter
    assert isinstance(formatter, LineFormatter)
    handler.put(formatter.line(time.time(), "INFO", logger.name, message, fields))


def _only_handler(logger: logging.Logger) -> BackgroundStreamHandler | None:
    """The service's handler, when a record of `logger` at INFO would reach
    it alone, unfiltered but for the request ID, and nothing else."""
    found: logging.Handler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if (
        not isinstance(found, BackgroundStreamHandler)
        or found.level > logging.INFO
        or not isinstance(found.formatter, LineFormatter)
        or any(type(each) is not RequestIdFilter for each in found.filters)
    ):
        return None
    return found
