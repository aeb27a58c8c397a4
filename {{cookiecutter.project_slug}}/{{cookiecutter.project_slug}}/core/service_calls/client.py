"""Calls to other services: `service_client()`, one `httpx.AsyncClient` per
app, open while it serves.

Calls share its connection pool, time out after CLIENT_CONNECT_TIMEOUT and
CLIENT_READ_TIMEOUT, carry the request's X-Request-ID and keep no cookies. A
failed call the view does not handle answers a JSON 504 (timeout) or 502,
logged without its query string.
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

    @app.before_serving
    async def open_client() -> None:
        app.extensions[EXTENSION] = create_client(app)

    @app.after_serving
    async def close_client() -> None:
        await app.extensions.pop(EXTENSION).aclose()

    app.register_error_handler(httpx.HTTPError, call_failed)
