"""Logging as served: JSON lines or text, request IDs, server loggers merged."""

import json
import logging
import sys
import warnings

import pytest

from {{ cookiecutter.project_slug }}.core.observability.logs import (
    FORMATTERS,
    QUIET_LOGGERS,
    SERVER_ACCESS_LOGGERS,
    SERVER_LOGGERS,
    JsonFormatter,
    LineFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
    escape_controls,
    log_access,
)
from {{ cookiecutter.project_slug }}.core.setting_types import LOG_FORMATS

pytestmark = pytest.mark.usefixtures("restore_logging")

ACCESS = {
    "request_id": "r-9",
    "method": "GET",
    "path": "/items",
    "status": 200,
    "duration_ms": 0.42,
    "remote_addr": "10.0.0.7",
}


def log_the_access_line() -> None:
    log_access(
        logging.getLogger("{{ cookiecutter.project_slug }}.access"),
        "r-9",
        "GET",
        "/items",
        200,
        0.42,
        "10.0.0.7",
    )


def written(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The lines on stderr, once the writer has written what it was given."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    return capsys.readouterr().err.splitlines()


def record(message: str = "hello %s", **extra: object) -> logging.LogRecord:
    made = logging.LogRecord(
        "svc.test", logging.WARNING, __file__, 1, message, ("world",), None
    )
    made.__dict__.update(extra)
    return made


def test_json_line_has_the_base_fields() -> None:
    line = json.loads(JsonFormatter().format(record()))

    assert line.keys() == {"time", "level", "logger", "message"}
    assert line["level"] == "WARNING"
    assert line["logger"] == "svc.test"
    assert line["message"] == "hello world"
    assert line["time"].endswith("+00:00")


def test_json_line_carries_the_request_fields_it_has() -> None:
    access = record(
        request_id="r-1",
        method="GET",
        path="/",
        status=200,
        duration_ms=1.5,
        remote_addr="10.0.0.7",
        unrelated="left out",
    )

    line = json.loads(JsonFormatter().format(access))

    assert line["request_id"] == "r-1"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/", 200)
    assert line["duration_ms"] == 1.5
    assert line["remote_addr"] == "10.0.0.7"
    assert "unrelated" not in line


def test_json_line_holds_the_traceback_on_one_line() -> None:
    try:
        raise ValueError('bad "thing"\nsecond line')
    except ValueError:
        failed = record(exc_info=sys.exc_info())

    formatted = JsonFormatter().format(failed)

    assert "\n" not in formatted
    assert "ValueError" in json.loads(formatted)["exception"]


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_lines_keep_the_traceback_and_the_stack(formatter: logging.Formatter) -> None:
    try:
        raise KeyError("gone")
    except KeyError:
        failed = record(exc_info=sys.exc_info(), stack_info="Stack: here")

    formatted = formatter.format(failed)

    assert "KeyError: 'gone'" in formatted
    assert "Stack: here" in formatted


def test_text_line_is_readable() -> None:
    line = TextFormatter().format(record(request_id="r-2"))

    assert line.endswith(" WARNING  svc.test [r-2] hello world")
    assert TextFormatter().format(record()).endswith("[-] hello world")


# A path with %0A and other controls in it, decoded, as a server logs it.
FORGED = "/a\n2026-01-01T00:00:00.000+00:00 INFO     svc [-] forged\r\x1b[31m\x85\u2028"


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_a_logged_value_cannot_start_a_line(formatter: logging.Formatter) -> None:
    formatted = formatter.format(record("GET %s 404", path=FORGED, args=(FORGED,)))

    assert formatted.splitlines() == [formatted]
    assert "\x1b" not in formatted


def test_json_escapes_keep_the_value() -> None:
    formatted = JsonFormatter().format(record("%s", path=FORGED, args=(FORGED,)))

    line = json.loads(formatted)
    assert line["path"] == line["message"] == FORGED
    assert "\\u0085" in formatted
    assert "\\u2028" in formatted


def test_text_shows_controls_as_escapes() -> None:
    assert escape_controls("a\nb\tc\x1bd\x7f\u2028") == "a\\nb\\tc\\x1bd\\x7f\\u2028"
    assert escape_controls("Zürich ✓") == "Zürich ✓"  # printable text stays


def test_text_indents_the_lines_of_a_traceback() -> None:
    try:
        raise ValueError("first\nsecond \x1b[31m")
    except ValueError:
        failed = record(exc_info=sys.exc_info())

    first, *rest = TextFormatter().format(failed).splitlines()

    assert first.endswith("hello world")
    assert rest
    assert all(line.startswith("    ") for line in rest)
    assert "\x1b" not in "".join(rest)
    assert rest[-1] == "    second \\x1b[31m"


def test_filter_stamps_none_outside_a_request() -> None:
    outside = record()

    assert RequestIdFilter().filter(outside)
    assert outside.__dict__["request_id"] is None


def test_configure_logging_writes_json_lines_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    logger = logging.getLogger("{{ cookiecutter.project_slug }}")

    logger.info("one")
    logger.debug("below the level")

    lines = written(capsys)
    assert [json.loads(line)["message"] for line in lines] == ["one"]


def test_a_librarys_warning_is_a_line_in_the_logs_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("0 rows were matched", UserWarning, stacklevel=1)

    (line,) = written(capsys)
    record = json.loads(line)
    assert (record["logger"], record["level"]) == ("py.warnings", "WARNING")
    assert "UserWarning: 0 rows were matched" in record["message"]


def test_server_loggers_reach_the_root_handler_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server_logger = logging.getLogger("hypercorn.error")
    server_logger.addHandler(logging.StreamHandler(sys.stderr))  # as servers do
    server_logger.propagate = False

    configure_logging("INFO", "text")
    for name in SERVER_LOGGERS:
        logging.getLogger(name).info("from %s", name)

    for name in SERVER_ACCESS_LOGGERS:
        logging.getLogger(name).info("access line from %s", name)

    lines = written(capsys)
    assert len(lines) == len(SERVER_LOGGERS)  # and no server access line
    assert all(" INFO " in line and "access" not in line for line in lines)


def test_outgoing_calls_are_logged_by_the_libraries_only_when_they_go_wrong(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG", "text")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).info("GET https://user:secret@example.com/?token=1")
        logging.getLogger(name).warning("from %s", name)

    lines = written(capsys)
    assert len(lines) == len(QUIET_LOGGERS)
    assert all(" WARNING " in line and "secret" not in line for line in lines)


def test_every_log_format_setting_has_a_formatter() -> None:
    assert set(FORMATTERS) == set(LOG_FORMATS)


@pytest.mark.parametrize("log_format", FORMATTERS)
def test_the_access_line_is_the_line_its_record_would_make(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", log_format)

    log_the_access_line()
    (line,) = written(capsys)

    access = record("GET /items 200", args=(), **ACCESS)
    access.name = "{{ cookiecutter.project_slug }}.access"
    access.levelname = "INFO"
    access.created = 0.0
    formatter = FORMATTERS[log_format]()
    time_length = len("1970-01-01T00:00:00.000+00:00")
    if log_format == "json":  # {"time":"...",
        time_length += len('{"time":""')
    assert line[time_length:] == formatter.format(access)[time_length:]


def test_the_access_line_is_a_record_for_any_other_handler(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")  # which took caplog's handler away
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.INFO)

    log_the_access_line()

    (access,) = caplog.records
    assert access.getMessage() == "GET /items 200"
    assert {field: vars(access)[field] for field in ACCESS} == ACCESS
    assert json.loads(written(capsys)[0])["path"] == "/items"


def test_no_access_line_below_its_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", "json")

    log_the_access_line()

    assert written(capsys) == []


def test_the_access_line_keeps_out_of_another_formatter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    (handler,) = logging.getLogger().handlers
    handler.setFormatter(logging.Formatter("plain %(message)s"))

    log_the_access_line()

    assert written(capsys) == ["plain GET /items 200"]


def test_the_access_line_passes_the_loggers_filters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    access = logging.getLogger("{{ cookiecutter.project_slug }}.access")
    access.addFilter(lambda record: record.getMessage() != "GET /items 200")
    try:
        log_the_access_line()
    finally:
        access.filters.clear()

    assert written(capsys) == []


def test_an_access_logger_that_does_not_propagate_keeps_its_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    access = logging.getLogger("{{ cookiecutter.project_slug }}.access")
    access.propagate = False  # and no handler of its own
    try:
        log_the_access_line()
    finally:
        access.propagate = True

    assert written(capsys) == []


def test_the_access_line_reaches_every_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text")
    extra = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(extra)

    log_the_access_line()

    lines = written(capsys)
    assert lines[0] == "GET /items 200"  # the plain handler, writing at once
    assert lines[1].endswith("[r-9] GET /items 200")


def test_a_line_formatter_says_how_to_make_a_line() -> None:
    with pytest.raises(NotImplementedError):
        LineFormatter().format(record())
