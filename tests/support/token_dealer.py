"""A token dealer for the suite, as the books' microservices have one: it
issues signed JWTs by the OAuth 2 client-credentials flow (RFC 6749 4.4) and
publishes the public half of its key as a JSON Web Key Set, which services
with auth=jwt verify tokens against.

It runs in a thread of the test process on a free loopback port, signs with
an RSA key pair the test makes, and can rotate that key: the set then holds
only the new key, so tokens signed with the old one stop being accepted.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class SigningKey:
    """An RSA key pair, named by its key ID (`kid`)."""

    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(65537, 2048)
    )
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

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
        key: dict[str, Any] = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())
        )
        return {**key, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self.private, algorithm="RS256", headers={"kid": self.kid}
        )


ISSUER = "https://issuer.test"


def jwt_settings(key: SigningKey, audience: str) -> dict[str, str]:
    """What a service with auth=jwt needs to start: a key, issuer, audience."""
    return {
        "JWT_PUBLIC_KEY": key.public_pem(),
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": audience,
    }


@dataclass
class TokenDealer:
    """Issues tokens for `clients` (id -> (secret, scope)), for `audience`."""

    audience: str
    clients: dict[str, tuple[str, str]]
    lifetime: int = 300
    key: SigningKey = field(default_factory=SigningKey)
    url: str = ""
    # Who was issued a token, in order; and how often the key set was read.
    issued: list[str] = field(default_factory=list)
    jwks_reads: int = 0

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def rotate(self) -> None:
        """Sign with a new key from now on; the set holds only the new key."""
        self.key = SigningKey()

    def token_for(self, client_id: str) -> str:
        """A token as the dealer issues it to `client_id`."""
        now = int(time.time())
        _, scope = self.clients[client_id]
        self.issued.append(client_id)
        return self.key.sign(
            {
                "iss": self.issuer,
                "aud": self.audience,
                "sub": client_id,
                "scope": scope,
                "iat": now,
                "nbf": now,
                "exp": now + self.lifetime,
            }
        )

    def client_of(self, authorization: str | None) -> str | None:
        """The client that HTTP Basic credentials name, if they are right."""
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except ValueError:
            return None
        client_id, _, secret = decoded.partition(":")
        known = self.clients.get(client_id)
        return client_id if known is not None and known[0] == secret else None


def handler_for(dealer: TokenDealer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                return self.answer(404, {"error": "not_found"})
            dealer.jwks_reads += 1
            return self.answer(200, {"keys": [dealer.key.jwk()]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if self.path != "/oauth/token":
                return self.answer(404, {"error": "not_found"})
            if form.get("grant_type") != ["client_credentials"]:
                return self.answer(400, {"error": "unsupported_grant_type"})
            client_id = dealer.client_of(self.headers.get("Authorization"))
            if client_id is None:
                return self.answer(401, {"error": "invalid_client"})
            token = dealer.token_for(client_id)
            return self.answer(
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": dealer.lifetime,
                },
            )

        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests look at what was issued, not at a log

    return Handler


@contextmanager
def dealing(dealer: TokenDealer) -> Iterator[TokenDealer]:
    """Serve `dealer` on a free loopback port while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(dealer))
    dealer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield dealer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
