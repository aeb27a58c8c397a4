"""/metrics served for real, by `make serve` as users run it.

granian serves from several worker processes and a scrape reaches one of
them: with WORKERS=2, one scrape must count the requests every worker
answered. The service gets one route more, which answers its process ID;
the test calls it on fresh connections until both workers have answered,
then scrapes. hypercorn and uvicorn serve from one process: `make serve` refuses
WORKERS=2 for them (test_startup.py), so one process's figures are the
whole.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from contexts import SERVER_CONTEXTS, SLUGS, python_of
from helpers import Bake, free_port, http, serving, venv_env

Installed = Callable[[str, str], Path]

# The service with one route more, which tells which process answered.
PID_APP = """\
import os

from quart import Blueprint

from {slug}.asgi import app

pid = Blueprint("pid", __name__)


@pid.get("/pid")
async def process_id() -> dict[str, int]:
    return {{"pid": os.getpid()}}


app.register_blueprint(pid)
"""


def requests_counted(text: str, route: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels["route"] == route
    )


@pytest.mark.parametrize("server", list(SERVER_CONTEXTS))
def test_one_scrape_counts_every_worker(
    bake: Bake, installed: Installed, tmp_path: Path, server: str
) -> None:
    context = SERVER_CONTEXTS[server]
    project, slug = bake(context), SLUGS[context]
    venv = installed(context, python_of(context))
    workers = 2 if server == "granian" else 1
    port = free_port()
    (tmp_path / "pid_app.py").write_text(PID_APP.format(slug=slug))
    metrics_dir = tmp_path / "metrics"
    make = ["make", "serve", f"VENV={venv}", f"BIND=127.0.0.1:{port}"]
    make += [f"WORKERS={workers}", "APP=pid_app:app", f"METRICS_DIR={metrics_dir}"]
    env = venv_env(venv, PYTHONPATH=str(tmp_path))
    url = f"http://127.0.0.1:{port}"

    with serving(make, project, env, tmp_path / "log", f"{url}/healthz"):
        answered: list[int] = []
        while len(set(answered)) < workers and len(answered) < 400:
            reply = http(f"{url}/pid", headers={"Connection": "close"})
            answered.append(reply.json()["pid"])
        # A request is counted once its response is sent: the worker that
        # answered last may count it just after the client has its answer.
        deadline = time.monotonic() + 5
        while True:
            scrape = http(f"{url}/metrics")
            text = scrape.body.decode()
            if requests_counted(text, "/pid") == len(answered):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)

    assert scrape.status == 200
    assert len(set(answered)) == workers
    assert requests_counted(text, "/pid") == len(answered)
    if server == "granian":
        # Each worker's process figures, by its ID; none of preflight's.
        pids = set(re.findall(r'process_open_fds\{pid="(\d+)"', text))
        assert pids == {str(pid) for pid in answered}, text
        assert {path.name.rpartition("_")[2] for path in metrics_dir.iterdir()} == {
            f"{pid}.db" for pid in answered
        }
