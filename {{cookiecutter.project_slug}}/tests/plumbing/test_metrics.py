"""/metrics: requests by method, route template and status, their latency,
those in flight, and the process's figures, in Prometheus's text format."""

import asyncio
{%- if cookiecutter.asgi_server == 'granian' %}
import os
from collections.abc import Iterator
from pathlib import Path
{%- endif %}

import pytest
{%- if cookiecutter.asgi_server == 'granian' %}
from prometheus_client import values
{%- endif %}
from prometheus_client.parser import text_string_to_metric_families
from quart import Blueprint, Quart
{%- if cookiecutter.asgi_server != 'granian' %}
from quart.typing import TestClientProtocol as Client
{%- endif %}

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.views import blueprints

from tests.support.asgi_calls import call, http_scope

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

probes = Blueprint("probes", __name__)
release = asyncio.Event()


@probes.get("/greet/<name>")
async def greet(name: str) -> dict[str, str]:
    return {"hello": name}


@probes.get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("unhandled")


@probes.get("/wait")
async def wait() -> dict[str, str]:
    await release.wait()
    return {}


@pytest.fixture
async def probed() -> Quart:
    return create_app(blueprints=[*blueprints, probes])


async def scrape(app: Quart) -> Samples:
    response = await app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    text = await response.get_data(as_text=True)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests(samples: Samples, method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return samples.get(("http_requests_total", frozenset(labels.items())), 0)


async def test_requests_are_counted_by_route_template(probed: Quart) -> None:
    client = probed.test_client()
    for name in ("ada", "grace", "linus"):
        await client.get(f"/greet/{name}")

    samples = await scrape(probed)

    assert requests(samples, "GET", "/greet/<name>", "200") == 3
    assert not [key for key in samples if ("route", "/greet/ada") in key[1]]
    count = (
        "http_request_duration_seconds_count",
        frozenset({("method", "GET"), ("route", "/greet/<name>")}),
    )
    assert samples[count] == 3


async def test_unknown_paths_and_methods_stay_one_series_each(probed: Quart) -> None:
    client = probed.test_client()
    for path in ("/a", "/b/c", "/%00", "/" + "x" * 500):
        await client.get(path)
    for method in ("FOO", "BAR"):
        await call(probed, http_scope(method=method, path="/greet/ada"))

    samples = await scrape(probed)

    assert requests(samples, "GET", "unmatched", "404") == 4
    # A method the route does not take is not a match either.
    assert requests(samples, "other", "unmatched", "405") == 2
    routes = {dict(labels).get("route") for _, labels in samples}
    assert routes <= {None, "/greet/<name>", "unmatched", "/metrics"}


async def test_errors_and_refusals_are_counted(probed: Quart) -> None:
    await probed.test_client().get("/boom")
    # The request guard answers before Quart routes it.
    await call(probed, http_scope(http_version="3"))

    samples = await scrape(probed)

    assert requests(samples, "GET", "/boom", "500") == 1
    assert requests(samples, "GET", "unmatched", "505") == 1


async def test_requests_in_flight_are_gauged(probed: Quart) -> None:
    client = probed.test_client()
    release.clear()
    waiting = [asyncio.create_task(client.get("/wait")) for _ in range(2)]
    await asyncio.sleep(0.05)

    during = await scrape(probed)
    release.set()
    await asyncio.gather(*waiting)
    after = await scrape(probed)

    # Each scrape is a request in flight too.
    assert during[("http_requests_in_flight", frozenset())] == 3
    assert after[("http_requests_in_flight", frozenset())] == 1


async def test_every_app_counts_from_zero(probed: Quart) -> None:
    await probed.test_client().get("/greet/ada")

    samples = await scrape(create_app())

    assert not requests(samples, "GET", "/greet/<name>", "200")
{%- if cookiecutter.asgi_server != 'granian' %}


async def test_process_figures_are_there(client: Client) -> None:
    response = await client.get("/metrics")
    text = await response.get_data(as_text=True)

    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total"):
        assert f"\n{name} " in text
{%- else %}


@pytest.fixture
def worker_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Multiprocess mode, as granian's workers run with make serve's
    PROMETHEUS_MULTIPROC_DIR (which prometheus-client reads when imported)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)  # restored after
    yield tmp_path
    values.close_all_multiprocess_files()  # type: ignore[no-untyped-call]


def as_worker(pid: int) -> Quart:
    """An app whose figures go to the files of worker `pid`."""
    values.ValueClass = values.MultiProcessValue(lambda: pid)  # type: ignore[no-untyped-call]
    return create_app(blueprints=[*blueprints, probes])


async def test_a_scrape_sums_every_worker(worker_files: Path) -> None:
    first = as_worker(1001)
    await first.test_client().get("/greet/ada")
    second = as_worker(1002)  # its own files from here on, as another process
    for _ in range(2):
        await second.test_client().get("/greet/grace")

    samples = await scrape(first)

    assert requests(samples, "GET", "/greet/<name>", "200") == 3
    counters = [name for name in os.listdir(worker_files) if name.startswith("counter")]
    assert sorted(counters) == [
        "counter_1001.db",
        "counter_1002.db",
    ]


async def test_each_worker_reports_its_process_figures(worker_files: Path) -> None:
    app = as_worker(os.getpid())
    async with app.test_app():
        await asyncio.sleep(0)  # the refresh task's first round
        samples = await scrape(app)
    after = os.listdir(worker_files)

    memory = ("process_resident_memory_bytes", frozenset({("pid", str(os.getpid()))}))
    assert samples[memory] > 0
    # A stopped worker's live series go with it.
    assert not [name for name in after if name.startswith("gauge_live")]

{%- endif %}
