"""Keys and tokens for the tests, from a test issuer that every app the tests
build trusts (conftest.py): tokens it accepts, and the hostile ones it must
refuse."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from quart import Quart, Response
from quart.testing import QuartClient
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }}.core.auth.tokens import SCOPES

from tests.support.client_calls import on_loopback

ISSUER = "https://issuer.test"
AUDIENCE = "{{ cookiecutter.project_slug }}"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


REALM = 'Bearer realm="{{ cookiecutter.project_slug }}"'
INVALID = f'{REALM}, error="invalid_token", error_description='


async def assert_refused(response: Any, status: int, challenge: str) -> str:
    """A JSON error in the service's shape, with this WWW-Authenticate (its
    start, for an invalid token); returns the message."""
    assert response.status_code == status
    body = await response.get_json()
    # A 400 also names the part of the request at fault (errors.py).
    assert body.keys() - {"fields"} == {"error", "status", "message"}
    assert ("fields" in body) is (status == 400)
    assert body["status"] == status
    header = response.headers["WWW-Authenticate"]
    assert header.startswith(challenge)
    if challenge == INVALID:
        assert header == f'{INVALID}"{body["message"]}"'
    message: str = body["message"]
    return message


class Clock:
    """A clock the tests move: pass it where the code takes `clock`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class KeyPair:
    """A signing key, named by its `kid`, and how it signs."""

    kid: str
    algorithm: str
    private: PrivateKey = field(repr=False)

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            .decode()
        )

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWKS publishes it."""
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        key: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**key, "kid": self.kid, "use": "sig", "alg": self.algorithm}


def rsa_key(kid: str) -> KeyPair:
    return KeyPair(kid, "RS256", rsa.generate_private_key(65537, 2048))


KEY = rsa_key("test-rsa")
EC_KEY = KeyPair("test-ec", "ES256", ec.generate_private_key(ec.SECP256R1()))
OTHER_KEY = rsa_key("other-rsa")  # the issuer's key after a rotation, say


def issuer_settings(key: KeyPair = KEY) -> dict[str, str]:
    """The settings that make an app trust the test issuer's `key`."""
    return {
        "JWT_PUBLIC_KEY": key.public_pem(),
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
    }


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims for five minutes; a change to None removes that claim."""
    now = int(time.time())
    valid = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "test-client",
        "scope": "",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    valid.update(changes)
    return {name: value for name, value in valid.items() if value is not None}


def mint(
    key: KeyPair = KEY, headers: dict[str, Any] | None = None, **changes: Any
) -> str:
    """A token signed with `key` (its kid in the header), with claims(**changes)."""
    return jwt.encode(
        claims(**changes),
        key.private,
        algorithm=key.algorithm,
        headers={"kid": key.kid, **(headers or {})},
    )


def signed(payload: Any, key: KeyPair = KEY) -> str:
    """A token with any payload (`iss` a list, `exp` a word), validly signed:
    PyJWT's own encode refuses to make such claims."""
    data = json.dumps(payload).encode()
    return jwt.api_jws.encode(data, key.private, key.algorithm, {"kid": key.kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: Any, payload: Any, signature: bytes = b"forged") -> str:
    """A token made by hand, as an attacker makes it: any header, any payload."""
    parts = [json.dumps(header).encode(), json.dumps(payload).encode()]
    return ".".join([*(b64(part) for part in parts), b64(signature)])


def signed_with_public_pem(key: KeyPair = KEY) -> str:
    """HS256 with the public key's PEM as the HMAC secret: the algorithm
    confusion attack on verifiers that let the token pick the algorithm.
    (PyJWT refuses to make one, so it is made here.)"""
    header = b64(json.dumps({"alg": "HS256", "kid": key.kid}).encode())
    payload = b64(json.dumps(claims()).encode())
    signing_input = f"{header}.{payload}".encode()
    secret = key.public_pem().encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def declared_scopes(app: Quart) -> list[str]:
    """Every scope a route of `app` requires."""
    scopes: set[str] = set()
    for view in app.view_functions.values():
        scopes |= getattr(view, SCOPES, frozenset())
    return sorted(scopes)


@cache
def scoped_token(scopes: tuple[str, ...]) -> str:
    """A token with these scopes, valid for an hour: one for the session."""
    return mint(scope=" ".join(scopes), exp=int(time.time()) + 3600)


def without_token(app: Quart) -> Client:
    """Quart's own test client, which sends no token unless told to (its
    set_cookie differs slightly from the protocol that types it)."""
    return cast(Client, QuartClient(app))


def every_scope_token(app: Quart) -> str:
    """The token test clients send by default (conftest.py)."""
    return scoped_token(tuple(declared_scopes(app)))


class JWKSServer:
    """A token issuer's JSON Web Key Set, which hypercorn serves on a free
    loopback port in the test's event loop. Tests change what it answers
    (`document`, JSON or raw bytes, and `status`), slow it down (`delay`) and
    count the fetches."""

    def __init__(self) -> None:
        self.url = ""  # known once it is served (jwks_server)
        self.document: Any = {"keys": [KEY.jwk()]}
        self.status = 200
        self.delay = 0.0
        self.fetches = 0
        self.app = Quart(__name__)
        self.app.get("/.well-known/jwks.json")(self.answer)

    async def answer(self) -> Response:
        self.fetches += 1
        await asyncio.sleep(self.delay)
        body = self.document
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return Response(body, self.status, content_type="application/json")


@asynccontextmanager
async def jwks_server() -> AsyncIterator[JWKSServer]:
    server = JWKSServer()
    async with on_loopback(server.app, graceful_timeout=0.1) as url:
        server.url = f"{url}/.well-known/jwks.json"
        yield server
