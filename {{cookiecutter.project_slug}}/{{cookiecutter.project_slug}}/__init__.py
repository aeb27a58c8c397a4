"""The service package.

`create_app` builds the Quart application, and is what Quart's CLI finds when
run from the project root as `QUART_APP=<package> quart run`. Servers import
the ready-built app from the `asgi` module instead.
"""

from .app import create_app

__all__ = ["create_app"]
