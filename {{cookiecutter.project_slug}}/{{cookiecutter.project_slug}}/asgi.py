"""The ASGI entry point for servers, `<package>.asgi:app`.

This is the one module that builds an app when imported.
"""

from .app import create_app

app = create_app()
