"""Calls to other services: one `httpx.AsyncClient` per app, while it serves.

- `service_client()` is the app's client, for views and anything else that
  runs while the app serves. It is made when serving starts and closed when it
  stops, so its connection pool is shared by every request (a client per call
  would open a connection per call).
- Timeouts: CLIENT_CONNECT_TIMEOUT to open a connection, and to wait for a
  free one in the pool; CLIENT_READ_TIMEOUT for each read of a response, and
  each write of a request body. A call may pass `timeout=` to change them.
- Each call made while a request is handled (or by a task it started)
  carries that request's ID as X-Request-ID, so one search for the ID finds
  the call in the log lines of every service it reached. An X-Request-ID the
  call sets itself wins; a call made outside any request (in a
  before_serving hook, say) carries none.
- Nothing is remembered between calls: the client keeps no cookies, which
  would otherwise pass from one caller's call into the next.
- A call that fails, and that the view does not handle, answers a JSON 504
  when the other service did not answer in time, else a 502 (a refused
  connection, an error status after `raise_for_status()`); one log line
  names the call, without its query string.
{%- if cookiecutter.auth == 'jwt' %}
- With TOKEN_URL set, each call carries a bearer token for the service itself
  (client_credentials.py), unless it passes `auth=None` (a call to a third
  party) or its own Authorization header. No token to be had is a 502 too.
{%- endif %}
"""

from __future__ import annotations

import functools
import importlib.metadata
import ssl
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from quart import Quart, current_app
from quart.typing import ResponseReturnValue

from ..http.errors import error_body
from ..observability.logs import current_request_id
from ..serving.lifecycle import first_line
from ..settings import Settings, settings_of
{%- if cookiecutter.auth == 'jwt' %}
from .credentials import ClientCredentials, credentials_from_settings
{%- endif %}

EXTENSION = "client"
REQUEST_ID_HEADER = "X-Request-ID"


def client_timeout(settings: Settings) -> httpx.Timeout:
    """The CLIENT_* timeouts: connecting and waiting for a pooled connection
    are both waits for a connection; a write may take as long as a read."""
    connect = settings.CLIENT_CONNECT_TIMEOUT
    read = settings.CLIENT_READ_TIMEOUT
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


async def forward_request_id(request: httpx.Request) -> None:
    """Send the current request's ID, unless the call names its own."""
    request_id = current_request_id()
    if request_id is not None:
        request.headers.setdefault(REQUEST_ID_HEADER, request_id)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The CA certificates (httpx's, or SSL_CERT_FILE's), loaded once per
    process: loading them takes some 20 ms, every app's client shares them."""
    return httpx.create_ssl_context()


def create_client(app: Quart) -> httpx.AsyncClient:
    """A client for the app's calls; its User-Agent names the service."""
    version = importlib.metadata.version(app.name)
    return httpx.AsyncClient(
        verify=tls_context(),
        timeout=client_timeout(settings_of(app)),
        headers={"User-Agent": f"{app.name}/{version}"},
        # A cookie policy that accepts none: the client is shared by all.
        cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        event_hooks={"request": [forward_request_id]},
    )


def service_client() -> httpx.AsyncClient:
    """The app's client for calls to other services, while it serves.

    `response = await service_client().get(url)`; `response.raise_for_status()`
    turns an error status into a 502 unless the view handles it.
    """
    client: httpx.AsyncClient | None = current_app.extensions.get(EXTENSION)
    if client is None:
        raise RuntimeError("the client exists only while the app serves")
    return client


def described(error: httpx.HTTPError) -> str:
    """The failed call as `METHOD scheme://host:port/path`: without the query
    string or credentials, which may carry secrets."""
    try:
        request = error.request
    except RuntimeError:  # an HTTPError made without its request
        return "a call"
    url = request.url
    return f"{request.method} {url.scheme}://{url.netloc.decode()}{url.path}"


async def call_failed(error: httpx.HTTPError) -> ResponseReturnValue:
    """A JSON 504 for a call that timed out, a 502 for any other failure."""
    reason = type(error).__name__
    if isinstance(error, httpx.HTTPStatusError):
        reason += f": answered {error.response.status_code}"
    elif detail := first_line(error):
        reason += f": {detail}"
    current_app.logger.error("call failed: %s: %s", described(error), reason)
    if isinstance(error, httpx.TimeoutException):
        message = "a service this one calls did not answer in time"
        return error_body(504, "Gateway Timeout", message), 504
    message = "a call to another service failed"
    return error_body(502, "Bad Gateway", message), 502


def init_client(app: Quart) -> None:
    """Open the client while the app serves; failed calls as JSON errors."""
{%- if cookiecutter.auth == 'jwt' %}
    credentials = credentials_from_settings(settings_of(app))  # stops create_app
{%- endif %}

    @app.before_serving
    async def open_client() -> None:
        client = create_client(app)
{%- if cookiecutter.auth == 'jwt' %}
        if credentials is not None:
            client.auth = ClientCredentials(credentials, client)
{%- endif %}
        app.extensions[EXTENSION] = client

    @app.after_serving
    async def close_client() -> None:
        await app.extensions.pop(EXTENSION).aclose()

    app.register_error_handler(httpx.HTTPError, call_failed)
