"""The keys that verify bearer tokens (core/auth/tokens.py), from one of two
sources; setting both is refused.

- JWT_PUBLIC_KEY: a PEM public key, or a PEM file's path, read at create_app.
- JWT_JWKS_URL: the issuer's key set, fetched when serving starts, kept
  JWT_JWKS_CACHE_SECONDS and fetched again for an unknown `kid` (at most once
  every JWT_JWKS_REFETCH_SECONDS). A failed fetch keeps the keys held; until a
  first one succeeds, tokens get a 401 and /readyz's `jwks` check fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from quart import Quart

from ..serving.lifecycle import add_readiness_check
from ..settings import Settings, SettingsError, settings_of

if TYPE_CHECKING:  # pragma: no cover - PyJWT 2.10 defines it for type checkers only
    from jwt.algorithms import AllowedPublicKeys

PEM_MARKER = "-----BEGIN"
# The keys PyJWT verifies with, and the curve of each ECDSA algorithm.
PUBLIC_KEY_TYPES = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)
EC_CURVES = {
    "ES256": "secp256r1",
    "ES256K": "secp256k1",
    "ES384": "secp384r1",
    "ES512": "secp521r1",
}


class UnknownKeyError(jwt.InvalidTokenError):
    """The token names no key (`kid`) the service holds."""


class KeySource(Protocol):
    """Where core/auth/tokens.py gets the key that verifies a token."""

    algorithms: list[str]

    async def key_for_token(self, token: str) -> AllowedPublicKeys | jwt.PyJWK:
        """The key that must verify this (unverified) token."""
        ...  # pragma: no cover - a protocol


class PublicKey:
    """JWT_PUBLIC_KEY: one key, whatever the token's header says."""

    def __init__(self, setting: str, accepted: list[str]) -> None:
        pem = setting if PEM_MARKER in setting else read_pem_file(setting)
        try:
            key = load_pem_public_key(pem.encode())
        except (ValueError, UnsupportedAlgorithm):
            raise SettingsError(
                "setting JWT_PUBLIC_KEY is not a PEM public key (-----BEGIN PUBLIC"
                " KEY-----): give the public half of the issuer's key pair"
            ) from None
        self.algorithms = [name for name in accepted if fits(name, key)]
        # (A key that fits an algorithm is one of PUBLIC_KEY_TYPES.)
        if not self.algorithms or not isinstance(key, PUBLIC_KEY_TYPES):
            raise SettingsError(
                f"setting JWT_PUBLIC_KEY is a {type(key).__name__}, which none of"
                f" JWT_ALGORITHMS {accepted} verifies"
            )
        self.key: AllowedPublicKeys = key

    async def key_for_token(self, token: str) -> AllowedPublicKeys:
        # The one key, without reading the token's header: PyJWT checks each
        # character of the base64 it decodes in Python, so one parse less
        # (jwt.decode's own) is about 30 µs a request less.
        return self.key


def read_pem_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        message = f"setting JWT_PUBLIC_KEY: cannot read the PEM file {path}: {error}"
        raise SettingsError(message) from None


def fits(algorithm: str, key: object) -> bool:
    """Whether `key` verifies `algorithm`: its family, and for ECDSA its
    curve (checked here: PyJWT 2.10 would try, and fail with a TypeError)."""
    if algorithm.startswith(("RS", "PS")):
        return isinstance(key, rsa.RSAPublicKey)
    if algorithm.startswith("ES"):
        return (
            isinstance(key, ec.EllipticCurvePublicKey)
            and key.curve.name == EC_CURVES[algorithm]
        )
    return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)


class KeySetUnavailableError(RuntimeError):
    """No key set has been fetched yet (for /readyz)."""


class JWKSKeys:
    """JWT_JWKS_URL: the issuer's key set, fetched and cached as the module
    docstring says."""

    def __init__(
        self,
        settings: Settings,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = settings.JWT_JWKS_URL or ""
        try:
            host = httpx.URL(self.url).host
        except httpx.InvalidURL:
            host = ""
        if not host:
            raise SettingsError(f"setting JWT_JWKS_URL = {self.url!r} is not a URL")
        self.algorithms = settings.JWT_ALGORITHMS
        self.cache_seconds = settings.JWT_JWKS_CACHE_SECONDS
        self.refetch_seconds = settings.JWT_JWKS_REFETCH_SECONDS
        self.timeout = httpx.Timeout(
            settings.CLIENT_READ_TIMEOUT, connect=settings.CLIENT_CONNECT_TIMEOUT
        )
        self.logger = logger
        self.clock = clock
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at: float | None = None  # the last fetch that succeeded
        self.tried_at: float | None = None  # the last fetch begun
        self.error = "not fetched yet"
        self.fetching: asyncio.Task[None] | None = None

    async def key_for_token(self, token: str) -> jwt.PyJWK:
        return await self.key_for(jwt.get_unverified_header(token))

    async def key_for(self, header: Mapping[str, Any]) -> jwt.PyJWK:
        """The key a token's header names (`kid`)."""
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise UnknownKeyError("the token names no key (kid)")
        if kid not in self.keys:
            await self.refresh()  # the issuer may have rotated its key
        elif self.stale():
            self.start_fetch()  # in the background: the keys held serve meanwhile
        try:
            return self.keys[kid]
        except KeyError:
            raise UnknownKeyError("the token's key (kid) is unknown") from None

    def stale(self) -> bool:
        return (
            self.fetched_at is None
            or self.clock() - self.fetched_at >= self.cache_seconds
        )

    def start_fetch(self) -> asyncio.Task[None] | None:
        """The fetch under way, or a new one unless the last one began under
        JWT_JWKS_REFETCH_SECONDS ago (then None)."""
        if self.fetching is None and (
            self.tried_at is None
            or self.clock() - self.tried_at >= self.refetch_seconds
        ):
            self.tried_at = self.clock()
            self.fetching = asyncio.create_task(self.fetch())
        return self.fetching

    async def refresh(self) -> None:
        """Wait for a fetch (see start_fetch). Shielded: a request that is
        cancelled does not cancel the fetch other requests wait for."""
        fetching = self.start_fetch()
        if fetching is not None:
            await asyncio.shield(fetching)

    async def fetch(self) -> None:
        """Fetch the set; on failure log why and keep the keys held."""
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(
                    self.url, headers={"Accept": "application/json"}
                )
            response.raise_for_status()
            keys = signing_keys(response.json(), self.algorithms)
        except Exception as error:  # network, HTTP status, a body PyJWT refuses
            self.error = f"{type(error).__name__}: {error}"
            self.logger.warning(
                "JWKS %s unavailable (%s); keeping the %d keys held",
                self.url,
                self.error,
                len(self.keys),
            )
        else:
            self.keys, self.fetched_at, self.error = keys, self.clock(), ""
        finally:
            self.fetching = None

    async def check(self) -> None:
        """/readyz: ready once a key set is held; until then each poll tries."""
        if not self.keys:
            await self.refresh()
        if not self.keys:
            raise KeySetUnavailableError(f"no keys from JWT_JWKS_URL: {self.error}")

    async def stop(self) -> None:
        if self.fetching is not None:
            self.fetching.cancel()
            with suppress(asyncio.CancelledError):
                await self.fetching


def signing_keys(document: Any, algorithms: list[str]) -> dict[str, jwt.PyJWK]:
    """The keys of a JWKS document that can verify tokens here, by kid."""
    if not isinstance(document, dict):
        raise ValueError("the key set is not a JSON object")
    keys = {
        key.key_id: key
        for key in jwt.PyJWKSet.from_dict(document).keys
        if isinstance(key.key_id, str)
        and key.public_key_use in ("sig", None)
        and key.algorithm_name in algorithms
    }
    if not keys:
        raise ValueError(f"the key set has no signing key with a kid for {algorithms}")
    return keys


def init_keys(app: Quart) -> KeySource:
    """The key source the settings name; a JWKS is fetched while serving."""
    settings = settings_of(app)
    if settings.JWT_PUBLIC_KEY is not None and settings.JWT_JWKS_URL is not None:
        raise SettingsError(
            "settings JWT_PUBLIC_KEY and JWT_JWKS_URL are both set: set one"
        )
    if settings.JWT_PUBLIC_KEY is not None:
        return PublicKey(settings.JWT_PUBLIC_KEY, settings.JWT_ALGORITHMS)
    keys = JWKSKeys(settings, app.logger)
    app.before_serving(keys.refresh)
    app.after_serving(keys.stop)
    add_readiness_check(app, "jwks", keys.check)
    return keys
