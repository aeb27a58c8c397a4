"""The ASGI entry point for servers, `<package>.asgi:app`.

The one module that builds an app when imported: logging is set up first,
from the same settings, and the garbage collector is tuned for serving last.
{%- if cookiecutter.asgi_server == 'granian' %} A SIGTERM
that reaches a granian worker while it loads is caught, to be acted on once
it serves (core/serving/granian_workers.py).
{%- endif %}
"""

import gc
import resource
from contextlib import suppress

from .app import create_app
from .core.observability.logs import configure_logging
{%- if cookiecutter.asgi_server == 'granian' %}
from .core.serving.granian_workers import SIGTERM_WHILE_LOADING
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
    """Keep the garbage collector off the request path.

    Freezing the objects that exist once the app is built takes them out of
    every later collection, and a higher threshold for young objects lets
    most requests finish before a collection sees their objects. Cyclic
    garbage made later is still collected.
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
{%- if cookiecutter.asgi_server == 'granian' %}
SIGTERM_WHILE_LOADING.stop_once_serving(app)
{%- endif %}
tune_garbage_collector()
