"""CORS: the browser pages of other origins that may call the API.

Off unless CORS_ALLOWED_ORIGINS lists origins (none by default), and then not
installed at all. With origins, quart-cors marks every response for those
origins, errors included (a {% if cookiecutter.auth == 'jwt' %}401, {% endif %}404 or 429 the page can read, not an opaque
network error); an origin not listed gets no CORS headers, so the browser
keeps the response from its page.

- Preflights (OPTIONS with Access-Control-Request-Method) get Quart's 204,
  the methods, and those of the headers asked for that are in ALLOW_HEADERS;
  they are not rate limited{% if cookiecutter.auth == 'jwt' %} and need no token (auth.py){% endif %}.
- Pages may read EXPOSE_HEADERS, beyond the few that browsers always show.
- No credentials mode: {% if cookiecutter.auth == 'jwt' %}the bearer token travels in the Authorization header,
  which needs none; {% endif %}the service uses no cookies.
- A WebSocket handshake from an origin not listed, or with no Origin, is
  refused (400): quart-cors's rule.
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
