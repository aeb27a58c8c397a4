"""The Jinja filters in local_extensions.py, as Jinja sees them, and the
logging filter it puts on cookiecutter's hook logger."""

from __future__ import annotations

import json
import logging
import sys
import tomllib

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment

import local_extensions
from helpers import load_hook

PRE_GEN = load_hook("pre_gen_project")
FILTERS = Environment(
    extensions=[
        local_extensions.service_slug,
        local_extensions.toml_string,
        local_extensions.json_string,
    ]
).filters

# Any text a prompt can return: every code point but the lone surrogates,
# which UTF-8 input cannot carry.
ANY_ANSWER = st.text(st.characters(exclude_categories=["Cs"]))


@given(ANY_ANSWER)
def test_toml_string_round_trips_any_answer(value: str) -> None:
    document = f"key = {FILTERS['toml_string'](value)}\n"

    assert tomllib.loads(document)["key"] == value


def test_toml_string_keeps_non_ascii_readable() -> None:
    assert FILTERS["toml_string"]('Zürich "API" 😀') == '"Zürich \\"API\\" 😀"'


# What the pre-generation hook lets through in a one-line answer.
ONE_LINE_ANSWER = ANY_ANSWER.filter(
    lambda value: PRE_GEN._one_line(value, required=False) is None
)


@given(ONE_LINE_ANSWER)
def test_json_string_is_json_and_yaml_for_any_one_line_answer(value: str) -> None:
    quoted = FILTERS["json_string"](value)

    assert quoted == json.dumps(value, ensure_ascii=False)  # what openapi.json holds
    assert json.loads(quoted) == value
    assert yaml.safe_load(f"key: {quoted}\n")["key"] == value


@given(ANY_ANSWER)
def test_service_slug_is_the_hooks_derive_slug(name: str) -> None:
    assert FILTERS["service_slug"](name) == PRE_GEN.derive_slug(name)


def logged(error: Exception) -> logging.LogRecord:
    """The record cookiecutter's `logger.exception` makes while `error` is handled."""
    try:
        raise error
    except Exception:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "cookiecutter.hooks", logging.ERROR, __file__, 1, "Stopping", (), exc_info
    )


def test_hook_logger_has_the_filter_once() -> None:
    filters = logging.getLogger("cookiecutter.hooks").filters

    assert [type(f).__name__ for f in filters].count("HookFailureWithoutTraceback") == 1


@pytest.mark.parametrize(
    ("error", "traceback_kept"),
    [(FailedHookException("Hook script failed"), False), (KeyError("x"), True)],
)
def test_a_failed_hook_is_logged_without_traceback(
    error: Exception, traceback_kept: bool
) -> None:
    record = logged(error)

    kept = local_extensions.HookFailureWithoutTraceback().filter(record)

    assert kept
    assert record.getMessage() == "Stopping"
    assert (record.exc_info is not None) is traceback_kept
    assert ("Traceback" in logging.Formatter().format(record)) is traceback_kept
