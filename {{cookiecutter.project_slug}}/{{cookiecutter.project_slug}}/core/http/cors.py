"""CORS: the browser pages of other origins that may call the API.

Installed only when CORS_ALLOWED_ORIGINS lists origins. Then every response
to a listed origin, errors included, carries CORS headers; preflights get a
204 with the allowed methods and headers, and are not rate limited.
Pages may read EXPOSE_HEADERS. No credentials mode; a WebSocket handshake from
an unlisted origin is refused (400).
"""

from __future__ import annotations

from datetime import timedelta

from quart import Quart
from quart_cors import cors

from ..settings import settings_of

# The request headers a page may send: its token, a JSON body's type, and
# its own request ID.
ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# The response headers a page may read: the request ID to quote, when to
# retry after a 429, and where a created resource is.
EXPOSE_HEADERS = ("X-Request-ID", "Retry-After", "Location")
# How long a browser may reuse a preflight's answer: short enough for a change
# of CORS_ALLOWED_ORIGINS to reach browsers soon (Chromium caps it at 2 hours).
MAX_AGE = timedelta(minutes=10)


def init_cors(app: Quart) -> None:
    """Answer CORS for CORS_ALLOWED_ORIGINS, when any is set."""
    origins = settings_of(app).CORS_ALLOWED_ORIGINS
    if origins:
        cors(
            app,
            allow_origin=origins,
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            max_age=MAX_AGE,
            allow_credentials=False,
        )
