"""The template's own Python (hooks, filters, this suite, the benchmark) is
as tidy as the code it bakes: ruff check and ruff format, with ruff.toml at
the root."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import TEMPLATE_DIR, run

RUFF = Path(sys.executable).with_name("ruff")
SOURCES = ["bench", "hooks", "local_extensions.py", "tests"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command: list[str]) -> None:
    result = run([RUFF, *command, *SOURCES], cwd=TEMPLATE_DIR)

    assert result.returncode == 0, result.stdout + result.stderr
