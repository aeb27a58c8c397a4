"""Jinja filters of the template, loaded through cookiecutter.json's `_extensions`.

- `service_slug` derives the default project_slug from the project name. It
  uses the pre-generation hook's own `derive_slug`, so the default always
  passes the rules the hook enforces: the hook module is their single home.
- `toml_string` quotes an answer for pyproject.toml.
- `json_string` quotes an answer for YAML and JSON, as Python's `json.dumps`
  writes it (non-ASCII kept): settings.yml and openapi.json.

Importing the module also keeps cookiecutter from burying a refused answer
under a traceback (`HookFailureWithoutTraceback`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

from cookiecutter.exceptions import FailedHookException
from cookiecutter.utils import simple_filter

_HOOK = Path(__file__).resolve().parent / "hooks" / "pre_gen_project.py"
_spec = importlib.util.spec_from_file_location("_pre_gen_rules", _HOOK)
if _spec is None or _spec.loader is None:
    raise ImportError(f"cannot load the slug rules from {_HOOK}")
_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_rules)


class HookFailureWithoutTraceback(logging.Filter):
    """Drop the traceback from cookiecutter's "Stopping generation" record when
    a hook exits non-zero, keeping the record's message.

    cookiecutter logs that exit with `logger.exception`, and its traceback of
    its own code buries the hook's message, which says what to fix and how to
    bake again. This module is imported into cookiecutter's process (through
    `_extensions`) before any hook runs, so the filter is in place in time.
    Other errors (a template's undefined variable) keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], FailedHookException):
            record.exc_info = None
            record.exc_text = None
        return True


_HOOKS_LOGGER = logging.getLogger("cookiecutter.hooks")
if not any(
    type(f).__name__ == "HookFailureWithoutTraceback" for f in _HOOKS_LOGGER.filters
):
    _HOOKS_LOGGER.addFilter(HookFailureWithoutTraceback())


@simple_filter
def service_slug(project_name: str) -> str:
    """A valid package name for any project name ("Zürich API" -> "zurich_api")."""
    return str(_rules.derive_slug(project_name))


@simple_filter
def toml_string(value: str) -> str:
    """A TOML basic string holding `value` exactly.

    JSON's escapes are TOML's, but Jinja's `tojson` writes characters outside
    the BMP as surrogate pairs (`\\ud83d\\ude00`), which TOML rejects: keep
    non-ASCII as it is and escape only what TOML requires (DEL among them).
    """
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


@simple_filter
def json_string(value: str) -> str:
    """A JSON string holding `value`, as `json.dumps(..., ensure_ascii=False)`
    writes it (openapi.json must match the document the service generates),
    which is also a YAML double-quoted scalar for answers without control
    characters, which the pre-generation hook refuses in a project name."""
    return json.dumps(value, ensure_ascii=False)
