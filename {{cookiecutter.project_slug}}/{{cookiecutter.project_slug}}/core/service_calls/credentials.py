"""Tokens for calls to other services: the OAuth 2.0 client-credentials grant,
as an httpx auth flow on the app's client (core/service_calls/client.py).

With TOKEN_URL set, init_client_credentials gives the app's client this
flow: each call carries a bearer token fetched with CLIENT_ID
and CLIENT_SECRET, shared by every call until shortly before it expires, and
fetched once for all the calls waiting on it. A 401 gets one new token and one
retry. Calls with their own Authorization header or `auth=None` get none. A
token that cannot be had raises TokenError; no secret or token is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import httpx
from quart import Quart

from ..settings import Settings, SettingsError, settings_of
from .client import EXTENSION as CLIENT

# Seconds before its expiry that a token is renewed, at most half its lifetime.
EXPIRY_MARGIN = 30.0

logger = logging.getLogger(__name__)


class TokenError(httpx.HTTPError):
    """No token could be had from the token endpoint."""


@dataclass(frozen=True)
class Credentials:
    """What the service asks for its tokens with (the TOKEN_* and CLIENT_*
    settings)."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None


def credentials_from_settings(settings: Settings) -> Credentials | None:
    """The credentials, or None when TOKEN_URL is not set.

    Raises SettingsError when TOKEN_URL is set without CLIENT_ID or
    CLIENT_SECRET.
    """
    if settings.TOKEN_URL is None:
        return None
    given = {"CLIENT_ID": settings.CLIENT_ID, "CLIENT_SECRET": settings.CLIENT_SECRET}
    missing = [key for key, value in given.items() if value is None]
    if missing:
        raise SettingsError(
            f"setting TOKEN_URL is set, so {' and '.join(missing)} must be too:"
            " tokens are fetched with CLIENT_ID and CLIENT_SECRET"
        )
    assert settings.CLIENT_ID is not None
    assert settings.CLIENT_SECRET is not None
    return Credentials(
        settings.TOKEN_URL,
        settings.CLIENT_ID,
        settings.CLIENT_SECRET.get_secret_value(),
        settings.TOKEN_SCOPE,
    )


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    renew_at: float  # on the auth's clock; infinity without expires_in


class ClientCredentials(httpx.Auth):
    """Bearer tokens from a token endpoint, fetched with `client`.

    `client` is usually the client this auth is set on: token requests then
    share its connections, timeouts and request IDs (with Basic credentials
    in place of this auth).
    """

    def __init__(
        self,
        credentials: Credentials,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.client = client
        self.clock = clock
        self._basic = httpx.BasicAuth(
            quote_plus(credentials.client_id), quote_plus(credentials.client_secret)
        )
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self._failures = 0  # fetches that failed, to fail their waiters too
        self._failure = ""

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if "Authorization" in request.headers:  # the call's own credentials
            yield request
            return
        token = await self._token_for(request)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        if not isinstance(request.stream, httpx.ByteStream):
            return  # a streamed body is gone: the call cannot be sent again
        await response.aread()  # and so gives its connection back for the fetch
        token = await self._token_for(request, stale=token)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            logger.warning(
                "%s %s refused a new token too: check CLIENT_ID, TOKEN_SCOPE"
                " and the audience the called service expects",
                request.method,
                request.url.host,
            )

    async def _token_for(self, request: httpx.Request, stale: str | None = None) -> str:
        try:
            return await self.token(stale)
        except TokenError as error:
            error.request = request  # the call that needed it
            raise

    async def token(self, stale: str | None = None) -> str:
        """A valid token: the one held unless it is due for renewal or is
        `stale` (refused by a called service), else a new one."""
        failures = self._failures
        async with self._lock:
            held = self._token
            if (
                held is not None
                and held.value != stale
                and self.clock() < held.renew_at
            ):
                return held.value
            if self._failures != failures:  # the fetch this call waited for
                raise TokenError(self._failure)
            try:
                self._token = await self._fetch()
            except TokenError as error:
                self._failures += 1
                self._failure = str(error)
                raise
            return self._token.value

    async def _fetch(self) -> Token:
        url = self.credentials.token_url
        form = {"grant_type": "client_credentials"}
        if self.credentials.scope is not None:
            form["scope"] = self.credentials.scope
        started = self.clock()
        try:
            response = await self.client.post(
                url, data=form, auth=self._basic, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as error:
            reason = type(error).__name__ + (f": {error}" if str(error) else "")
            raise TokenError(f"token endpoint {url}: {reason}") from error
        return read_token(url, response, started)


def read_token(url: str, response: httpx.Response, started: float) -> Token:
    """The token in a token endpoint's response (RFC 6749 5.1), renewed
    EXPIRY_MARGIN seconds (at most half its lifetime) before it expires."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not response.is_success:
        raise TokenError(f"token endpoint {url} answered {oauth_error(response, body)}")
    if not isinstance(body, dict):
        raise TokenError(f"token endpoint {url} answered no JSON object")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError(f"token endpoint {url} answered no access_token")
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(f"token endpoint {url} answered a token that is not Bearer")
    lifetime = seconds(body.get("expires_in"))
    if lifetime is None:
        raise TokenError(f"token endpoint {url} answered a bad expires_in")
    return Token(token, started + lifetime - min(EXPIRY_MARGIN, lifetime / 2))


def seconds(expires_in: Any) -> float | None:
    """`expires_in` as seconds: infinity when absent, None when not a
    positive number (some endpoints send it as a string of digits)."""
    if expires_in is None:
        return math.inf
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    if type(expires_in) in (int, float) and expires_in > 0:
        return float(expires_in)
    return None


def oauth_error(response: httpx.Response, body: Any) -> str:
    """The status and, when the body is an OAuth error (RFC 6749 5.2), its code
    and description."""
    status = f"{response.status_code} {response.reason_phrase}"
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return status
    description = body.get("error_description")
    if isinstance(description, str):
        return f"{status} ({body['error']}: {description})"
    return f"{status} ({body['error']})"


def init_client_credentials(app: Quart) -> None:
    """With TOKEN_URL set, give the app's client (opened by init_client, which
    runs first) the token flow; a partial configuration stops create_app."""
    credentials = credentials_from_settings(settings_of(app))
    if credentials is None:
        return

    @app.before_serving
    async def send_tokens() -> None:
        client: httpx.AsyncClient = app.extensions[CLIENT]
        client.auth = ClientCredentials(credentials, client)
