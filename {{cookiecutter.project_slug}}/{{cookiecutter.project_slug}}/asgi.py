"""The ASGI entry point for servers, `<package>.asgi:app`.

This is the one module that builds an app when imported. Logging is set up
first, from the same settings, so that every line the app and the server log
has one format.
"""

import resource
from contextlib import suppress

from .app import create_app
from .core.logs import configure_logging
from .core.settings import load_settings

# Where the hard limit is "unlimited" (macOS), which no process may ask for.
UNLIMITED_FILES_CEILING = 65536


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


raise_open_file_limit()
_settings = load_settings()
configure_logging(_settings["LOG_LEVEL"], _settings["LOG_FORMAT"])

app = create_app()
