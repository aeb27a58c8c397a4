"""Prometheus metrics at /metrics, with prometheus-client.

- `http_requests_total{method, route, status}`: every HTTP request answered,
  the guard's refusals and the JSON 500s included;
- `http_request_duration_seconds{method, route}`: a latency histogram;
- `http_requests_in_flight`: requests being answered now;
- the process's CPU, memory, open files and start time.

The request-context middleware (request_context.py) times each request and
notes its status once, for its access line and for these figures
(`observe_request`).

`route` is the matched route's rule as declared (`/greet/<name>`), never the
raw path, and `unmatched` for a path no route matches; a method outside
HTTP's usual ones counts as `other`. Whatever clients send, the number of
series stays bounded.
{%- if cookiecutter.asgi_server == 'granian' %}

granian serves from several worker processes, and a scrape reaches one of
them: `make serve` names a directory in PROMETHEUS_MULTIPROC_DIR, emptied by
preflight.py at each start, where each worker keeps its figures
(prometheus-client's multiprocess mode), and every scrape sums them. The
process figures then carry a `pid` label, one series a live worker, each
refreshed every PROCESS_INTERVAL seconds.
{%- endif %}

The gateway (deploy/nginx) does not pass /metrics on: Prometheus scrapes
each instance directly (deploy/k8s announces the port).
"""

from __future__ import annotations

{% if cookiecutter.asgi_server == 'granian' -%}
import asyncio
import os

{% endif -%}
from hypercorn.typing import HTTPScope
from prometheus_client import (
    CONTENT_TYPE_LATEST,
{%- if cookiecutter.asgi_server != 'granian' %}
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
{%- endif %}
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
{%- if cookiecutter.asgi_server == 'granian' %}
    multiprocess,
{%- endif %}
)
{%- if cookiecutter.asgi_server == 'granian' %}
from prometheus_client.process_collector import ProcessCollector
{%- endif %}
from quart import Blueprint, Quart, Response, current_app, request
from quart_schema import hide

EXTENSION = "metrics"
# Where the matched route's template travels from the app to the middleware.
ROUTE_KEY = "{{ cookiecutter.project_slug }}.route"
UNMATCHED = "unmatched"
METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
)
{%- if cookiecutter.asgi_server == 'granian' %}
PROCESS_INTERVAL = 5.0
{%- endif %}

metrics = Blueprint("metrics", __name__)

# The `_created` series would double the series of every figure, for a start
# time Prometheus does not use.
disable_created_metrics()  # type: ignore[no-untyped-call]


class RequestMetrics:
    """The service's request metrics, in a registry of the app's own (so that
    each create_app() starts from zero)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ("method", "route"),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "HTTP requests being answered.",
            registry=self.registry,
{%- if cookiecutter.asgi_server == 'granian' %}
            multiprocess_mode="livesum",  # the live workers' requests, summed
{%- endif %}
        )
        # Each request's two series, by their labels (as bounded as they are).
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
{%- if cookiecutter.asgi_server != 'granian' %}
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
{%- endif %}

    def observe_request(self, scope: HTTPScope, status: int, seconds: float) -> None:
        """Count and time one HTTP request, by the route `note_route` noted
        in its scope (`unmatched` if none)."""
        self.observe(
            scope["method"],
            scope.get(ROUTE_KEY, UNMATCHED),  # type: ignore[arg-type]
            status,
            seconds,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = "other"
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            # Looked up once: labels() costs more than the counting.
            series = self._series[key] = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
        count, duration = series
        count.inc()
        duration.observe(seconds)

    def exposition(self) -> bytes:
        """Every metric, in Prometheus's text format."""
{%- if cookiecutter.asgi_server == 'granian' %}
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            # What every worker has written, summed (as the docs advise: a
            # new registry for each scrape).
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
{%- endif %}
        return generate_latest(self.registry)
{%- if cookiecutter.asgi_server == 'granian' %}


class WorkerProcessMetrics:
    """In multiprocess mode, the process figures of each worker: gauges that
    the scrape reports with a `pid` label, one series a live worker
    (prometheus-client's process collector reports only the process it runs
    in)."""

    def __init__(self) -> None:
        self.gauges = {
            name: Gauge(name, text, registry=None, multiprocess_mode="liveall")
            for name, text in (
                ("process_cpu_seconds_total", "CPU time spent, in seconds."),
                ("process_resident_memory_bytes", "Resident memory, in bytes."),
                ("process_virtual_memory_bytes", "Virtual memory, in bytes."),
                ("process_open_fds", "Open file descriptors."),
                ("process_start_time_seconds", "Start time, in Unix seconds."),
            )
        }
        self.source = ProcessCollector(registry=None)

    def refresh(self) -> None:
        for family in self.source.collect():
            for sample in family.samples:
                gauge = self.gauges.get(sample.name)
                if gauge is not None:
                    gauge.set(sample.value)

    async def run(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(PROCESS_INTERVAL)
{%- endif %}


async def note_route() -> None:
    """Hand the matched route's template to `RequestMetrics.observe_request`."""
    if request.url_rule is not None:
        request.scope[ROUTE_KEY] = request.url_rule.rule  # type: ignore[literal-required]


@metrics.get("/metrics")
@hide
async def exposition() -> Response:
    """The metrics, for Prometheus."""
    body = current_app.extensions[EXTENSION].exposition()
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def init_metrics(app: Quart) -> RequestMetrics:
    """Serve /metrics and note each request's route; returns the metrics for
    RequestContextMiddleware (request_context.py) to record each request in."""
    request_metrics = RequestMetrics()
    app.extensions[EXTENSION] = request_metrics
    app.before_request(note_route)
    app.register_blueprint(metrics)
{%- if cookiecutter.asgi_server == 'granian' %}
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        workers = WorkerProcessMetrics()
        refreshing: list[asyncio.Task[None]] = []

        @app.before_serving
        async def start_process_metrics() -> None:
            refreshing.append(asyncio.create_task(workers.run()))

        @app.after_serving
        async def stop_process_metrics() -> None:
            refreshing.pop().cancel()
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
{%- endif %}

    return request_metrics
