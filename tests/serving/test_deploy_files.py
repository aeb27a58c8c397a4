"""The deploy files as files: nginx accepts them for the longest slug, and
the systemd unit runs exactly what `make serve` runs, for every asgi_server.
test_gateway.py serves through them."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from contexts import SERVER_CONTEXTS, SLUGS
from gateway import Route, configure, nginx_or_skip
from helpers import Bake, check, load_hook


def test_nginx_accepts_the_config_of_the_longest_slug(
    pristine: Bake, tmp_path: Path
) -> None:
    """nginx keeps variable names in a hash of 64-byte buckets by default: the
    deploy files' `$<slug>_rid` must fit with the longest slug allowed."""
    context = max(SLUGS, key=lambda name: len(SLUGS[name]))
    slug = SLUGS[context]
    route = Route(slug, pristine(context) / "deploy" / "nginx", tmp_path / "s.sock")
    gateway = configure(nginx_or_skip(), tmp_path / "nginx", [route])

    result = gateway.test_config()

    assert len(slug) == load_hook("pre_gen_project").MAX_SLUG_LENGTH
    assert result.returncode == 0, result.stderr


def commands(text: str, prefixes: tuple[str, ...] = ("",)) -> list[list[str]]:
    """The command lines of a Makefile recipe or unit file that start with one
    of `prefixes` (which are dropped), `\\`-newline continuations joined."""
    lines = text.replace("\\\n", " ").splitlines()
    return [
        shlex.split(line.removeprefix(prefix))
        for line in lines
        for prefix in prefixes
        if line.strip() and line.startswith(prefix)
    ]


@pytest.mark.parametrize("server", list(SERVER_CONTEXTS))
def test_the_systemd_unit_runs_what_make_serve_runs(
    pristine: Bake, server: str
) -> None:
    context = SERVER_CONTEXTS[server]
    project = pristine(context)
    slug = SLUGS[context]
    workers = 2 if server == "granian" else 1  # the others serve from one process
    make_args = [f"BIND=unix:/run/{slug}/{slug}.sock", f"WORKERS={workers}"]
    make_args.append(f"VENV=/srv/{slug}/.venv")
    unit = (project / "deploy" / "systemd" / f"{slug}.service").read_text()

    make = check(["make", "-n", "serve", *make_args], cwd=project)

    started = commands(unit, ("ExecStartPre=", "ExecStart="))
    assert started == commands(make)
    if server == "granian":
        # make serve's METRICS_DIR: in the unit's RuntimeDirectory, made anew
        # at each start.
        assert f"\nEnvironment=PROMETHEUS_MULTIPROC_DIR=/run/{slug}/metrics\n" in unit
