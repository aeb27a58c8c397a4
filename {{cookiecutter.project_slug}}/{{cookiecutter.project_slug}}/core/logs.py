"""Logging for the served app: one handler on the root logger, so that the
service's, Quart's and the ASGI server's records share one format.

`configure_logging` runs in `asgi.py` before the app is built. JSON lines
(`LOG_FORMAT: json`) are for production: one object a line, with `time`,
`level`, `logger`, `message` and, where they apply, the request's fields
below. `text` gives readable lines for a terminal.

Neither format lets a logged value start a line of its own (log forging: a
request path with `%0A` in it): JSON escapes every control character and
line separator, text shows them as `\\n`, `\\x1b` ..., and indents the lines
of a traceback.

The formatters are written here rather than taken from a library: each is a
few lines, the field set is exactly ours, and they run on every request.
"""

from __future__ import annotations

import functools
import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from .request_context import current_request_id

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


class RequestIdFilter(logging.Filter):
    """Stamp each record with the ID of the request it was logged in, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


@functools.lru_cache(maxsize=4)
def _second(epoch_second: int) -> str:
    return datetime.fromtimestamp(epoch_second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _time(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC to the millisecond; the part up to the second is
    formatted once a second, not on every line."""
    return f"{_second(int(record.created))}.{int(record.msecs):03d}+00:00"


# One encoder, made once: json.dumps with options builds one on every call.
_encode_json = json.JSONEncoder(ensure_ascii=False, default=str).encode

# Characters that end or garble a line, as `str.splitlines` and terminals see
# them: C0 controls, DEL, C1 controls (NEL among them) and the Unicode line
# and paragraph separators. The JSON encoder escapes C0 itself.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in _CONTROLS if code >= 0x20}
_TEXT_ESCAPES = {code: repr(chr(code))[1:-1] for code in _CONTROLS}


def _encode(line: dict[str, Any]) -> str:
    return _encode_json(line).translate(_JSON_ESCAPES)


def escape_controls(text: str) -> str:
    """`text` on one line, its control characters written as escapes."""
    return text.translate(_TEXT_ESCAPES)


def _indented(text: str) -> str:
    """A traceback's lines, each indented and with its controls escaped."""
    return "".join(f"\n    {escape_controls(line)}" for line in text.splitlines())


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in REQUEST_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return _encode(line)


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> [<request id>] <message>`, then any traceback,
    indented."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or "-"
        line = escape_controls(
            f"{_time(record)} {record.levelname:<8} {record.name}"
            f" [{request_id}] {record.getMessage()}"
        )
        if record.exc_info:
            line += _indented(self.formatException(record.exc_info))
        if record.stack_info:
            line += _indented(self.formatStack(record.stack_info))
        return line


FORMATTERS: dict[str, type[logging.Formatter]] = {
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
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {"default": {"()": FORMATTERS[log_format]}},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
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
            },
        }
    )
