"""The baked Dockerfile, read as data: its instructions, with continuation
lines joined, as (keyword, arguments) pairs."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

Instruction = tuple[str, str]


def instructions(dockerfile: Path) -> list[Instruction]:
    joined = re.sub(r"\\\n", "", dockerfile.read_text(encoding="utf-8"))
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def final_stage(dockerfile: Path) -> list[Instruction]:
    """The instructions of the last stage, from its FROM on."""
    steps = instructions(dockerfile)
    start = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[start:]


def environment(stage: Sequence[Instruction]) -> dict[str, str]:
    """The variables a stage's ENV instructions set (key=value form)."""
    variables: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for word in shlex.split(arguments):
                key, _, value = word.partition("=")
                variables[key] = value
    return variables


def exec_form(stage: Sequence[Instruction], keyword: str) -> list[str]:
    """The argv of the stage's last `keyword` (CMD, ENTRYPOINT) in exec form."""
    (arguments,) = [args for kw, args in stage if kw == keyword][-1:]
    argv = json.loads(arguments)
    assert isinstance(argv, list), f"{keyword} {arguments}: not exec form"
    return [str(arg) for arg in argv]


def copied_sources(path: Path) -> list[str]:
    """What the Dockerfile's COPY instructions take from the build context."""
    sources = []
    for keyword, arguments in instructions(path):
        words = shlex.split(arguments)
        if keyword == "COPY" and not words[0].startswith("--from"):
            sources += [word.rstrip("/") for word in words[:-1]]
    return sources
