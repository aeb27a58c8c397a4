"""The ASGI entry point for servers, `<package>.asgi:app`.

This is the one module that builds an app when imported. Logging is set up
first, from the same settings, so that every line the app and the server log
has one format.
"""

from .app import create_app
from .logs import configure_logging
from .settings import load_settings

_settings = load_settings()
configure_logging(_settings["LOG_LEVEL"], _settings["LOG_FORMAT"])

app = create_app()
