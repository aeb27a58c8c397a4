"""The ASGI entry point for servers, `<package>.asgi:app`.

This is the one module that builds an app when imported. Logging is set up
first, from the same settings, so that every line the app and the server log
has one format; the garbage collector is tuned last, for serving.
{%- if cookiecutter.asgi_server == 'granian' %} Before
all that, a SIGTERM that reaches a granian worker while it loads is caught, to
be acted on once it serves (core/serving/lifecycle.py).
{%- endif %}
"""

import gc
import resource
from contextlib import suppress

from .app import create_app
from .core.observability.logs import configure_logging
{%- if cookiecutter.asgi_server == 'granian' %}
from .core.serving.lifecycle import SIGTERM_WHILE_LOADING
{%- endif %}
from .core.settings import load_settings

# Where the hard limit is "unlimited" (macOS), which no process may ask for.
UNLIMITED_FILES_CEILING = 65536
# Allocations (less deallocations) between two collections of the youngest
# generation: Python's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def raise_open_file_limit() -> None:
    """Let the server hold as many connections as the host allows.

    Each connection is an open file, and the usual soft limit (1024, far
    below the hard limit) lets a burst of connections lock the service out.
    deploy/systemd sets both limits (LimitNOFILE). Where the system refuses,
    the limit stays as it was.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = UNLIMITED_FILES_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        with suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def tune_garbage_collector() -> None:
    """Keep the garbage collector from taking a quarter of the CPU.

    Served, with Python's defaults, the collector runs every few requests,
    since the objects of the requests in flight count as new, and about one
    run in a hundred walks all the objects the imports made (about 90,000:
    50 ms). Freezing what exists once the app is built takes those out of
    every later collection, and a higher threshold for young objects lets
    most requests finish before a collection sees their objects. Measured
    under load: 28 % of the worker's CPU in the collector before, 2 % after
    (docs/performance.md of the template). Cyclic garbage made later is
    still collected; what was frozen stays, as modules do anyway.
    """
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


{% if cookiecutter.asgi_server == 'granian' -%}
SIGTERM_WHILE_LOADING.catch()
{% endif -%}
raise_open_file_limit()
_settings = load_settings()
configure_logging(_settings.LOG_LEVEL, _settings.LOG_FORMAT)

app = create_app()
tune_garbage_collector()
