"""Bearer tokens: every endpoint but the public ones needs a valid JWT.

A token is verified against core/auth/keys.py's key, with one of
JWT_ALGORITHMS, and must carry `exp`, `iss` (JWT_ISSUER) and `aud`
(JWT_AUDIENCE). `@public` routes, /openapi.json, /docs, OPTIONS and unmatched
paths need none. `@require_scopes(...)` names the scopes a route needs (from
the `scope` or `scp` claim); `current_claims()` gives a view the claims.
Refusals are JSON 401, 400 or 403 with an RFC 6750 challenge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from quart import Quart, current_app, g, request, websocket
from quart.wrappers import BaseRequestWebsocket
from quart_schema import security_scheme
from quart_schema.openapi import HttpSecurityScheme
from werkzeug.exceptions import HTTPException

from ..settings import ENV_PREFIX, SettingsError, settings_of
from .keys import KeySource, UnknownKeyError, init_keys

# A route's view function: Quart calls it, nothing else does.
View = Callable[..., Any]

EXTENSION = "auth"
PUBLIC = "_auth_public"
SCOPES = "_auth_scopes"
CLAIMS = "_auth_claims"
# quart-schema's own views, which no decorator of ours reaches.
SCHEMA_VIEWS = ("openapi", "swagger_ui")
# The plumbing's routes served without a token: the probes and /docs' files.
PLUMBING_PUBLIC = ("health.healthz", "health.readyz", "docs_assets.docs_asset")
REQUIRED_CLAIMS = ["exp", "iss", "aud"]
NUMERIC_DATES = ("exp", "nbf", "iat")
# A longer Authorization header is refused before any parsing; nginx (the
# gateway) refuses header lines over 8 KB by default anyway.
MAX_TOKEN_LENGTH = 8192
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Why a token is refused, in words safe for a header (the error's own message
# may quote the token). The first class that matches wins.
REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidIssuedAtError, "the token's iat claim is invalid"),
    (jwt.InvalidIssuerError, "the token is from another issuer (iss)"),
    (jwt.InvalidAudienceError, "the token is for another audience (aud)"),
    (jwt.InvalidAlgorithmError, "the token's algorithm is not accepted"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.DecodeError, "the token is malformed"),
    (UnknownKeyError, "the token's key (kid) is unknown"),
)


class NotANumericDateError(jwt.InvalidTokenError):
    """A time claim that is not a JSON number ("9999999999", true)."""

    def __init__(self, claim: str) -> None:
        super().__init__(claim)
        self.claim = claim


def is_numeric_date(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Verifier:
    """What a token must be: signed by a key of `keys`, from `issuer`, for
    `audience`."""

    keys: KeySource
    issuer: str
    audience: str
    leeway: float

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's claims, once verified; raises PyJWT's errors."""
        key = await self.keys.key_for_token(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=self.keys.algorithms,
            issuer=self.issuer,
            audience=self.audience,
            leeway=self.leeway,
            options={"require": REQUIRED_CLAIMS},
        )
        for name in NUMERIC_DATES:
            if name in claims and not is_numeric_date(claims[name]):
                raise NotANumericDateError(name)
        return claims


class BearerError(HTTPException):
    """A 400, 401 or 403 with its WWW-Authenticate challenge (RFC 6750 3)."""

    def __init__(
        self,
        code: int,
        description: str,
        fields: list[dict[str, str]] | None = None,
        **params: str,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.fields = fields  # a 400's part at fault (errors.py)
        params = {"realm": current_app.name, **params}
        self.challenge = "Bearer " + ", ".join(f'{k}="{v}"' for k, v in params.items())

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        headers = super().get_headers(*args, **kwargs)
        return [*headers, ("WWW-Authenticate", self.challenge)]


def invalid_token(reason: str) -> BearerError:
    return BearerError(401, reason, error="invalid_token", error_description=reason)


def public(view: View) -> View:
    """Serve this route without a token, and document it so."""
    setattr(view, PUBLIC, True)
    return security_scheme([])(view)


def require_scopes(*scopes: str) -> Callable[[View], View]:
    """Require these scopes of the token (else a 403), and document them."""

    def decorator(view: View) -> View:
        setattr(view, SCOPES, frozenset(scopes))
        return security_scheme([{"bearer": list(scopes)}])(view)

    return decorator


def current_claims() -> Mapping[str, Any]:
    """The verified claims of the request's token (`sub`, `scope` ...).

    Raises RuntimeError in a public endpoint, which has no token.
    """
    claims: Mapping[str, Any] | None = g.get(CLAIMS)
    if claims is None:
        raise RuntimeError("no verified token: the endpoint is public")
    return claims


def bearer_token(authorizations: list[str]) -> str:
    """The token of the request's Authorization headers, checked for shape
    only."""
    if len(authorizations) > 1:
        message = "the request has more than one Authorization header: send one"
        fault = [{"field": "Authorization", "message": "sent more than once"}]
        raise BearerError(
            400, message, fault, error="invalid_request", error_description=message
        )
    authorization = authorizations[0] if authorizations else None
    if authorization is not None and len(authorization) > MAX_TOKEN_LENGTH:
        raise invalid_token("the token is too long")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        # No error code: the client may not know a token is needed.
        message = "this endpoint needs a token: Authorization: Bearer <JWT>"
        raise BearerError(401, message)
    if not token:
        raise invalid_token("the Authorization header holds no token")
    if not COMPACT_JWS.fullmatch(token):
        raise invalid_token("the token is malformed")
    return token


def granted_scopes(claims: Mapping[str, Any]) -> set[str]:
    granted: set[str] = set()
    for value in (claims.get("scope"), claims.get("scp")):
        if isinstance(value, str):
            value = value.split()
        if isinstance(value, list):
            granted.update(scope for scope in value if isinstance(scope, str))
    return granted


def reason(error: Exception) -> str:
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the token has no {error.claim} claim"
    if isinstance(error, NotANumericDateError):
        return f"the token's {error.claim} claim is not a number"
    for kind, words in REASONS:
        if isinstance(error, kind):
            return words
    return "the token is invalid"


async def authenticate(incoming: BaseRequestWebsocket) -> None:
    """Verify the request's token, unless its endpoint is public."""
    endpoint = incoming.endpoint  # None: no route matched (routing_exception)
    if endpoint is None or incoming.method == "OPTIONS":
        return
    view = current_app.view_functions[endpoint]
    if getattr(view, PUBLIC, False) or endpoint in SCHEMA_VIEWS:
        return
    token = bearer_token(incoming.headers.getlist("Authorization"))
    verifier: Verifier = current_app.extensions[EXTENSION]
    try:
        claims = await verifier.claims(token)
    except jwt.PyJWTError as error:
        raise invalid_token(reason(error)) from None
    required: frozenset[str] = getattr(view, SCOPES, frozenset())
    if not required <= granted_scopes(claims):
        needed = " ".join(sorted(required))
        message = f"the token lacks a scope this endpoint needs: {needed}"
        raise BearerError(
            403,
            message,
            error="insufficient_scope",
            error_description=message,
            scope=needed,
        )
    setattr(g, CLAIMS, claims)


async def authenticate_request() -> None:
    await authenticate(request)


async def authenticate_websocket() -> None:
    await authenticate(websocket)


def init_auth(app: Quart) -> None:
    """Require a valid bearer token on every endpoint but the public ones.

    Raises SettingsError, naming them, when settings it needs are not set.
    """
    settings = settings_of(app)
    given = {"JWT_ISSUER": settings.JWT_ISSUER, "JWT_AUDIENCE": settings.JWT_AUDIENCE}
    missing = [name for name, value in given.items() if value is None]
    if settings.JWT_PUBLIC_KEY is None and settings.JWT_JWKS_URL is None:
        missing.append("JWT_PUBLIC_KEY or JWT_JWKS_URL")
    if missing:
        raise SettingsError(
            f"bearer tokens (auth=jwt) need {', '.join(missing)}: set them in a"
            f" settings file or as {ENV_PREFIX}_<SETTING>; there is no default"
        )
    assert settings.JWT_ISSUER is not None
    assert settings.JWT_AUDIENCE is not None
    keys = init_keys(app)
    app.extensions[EXTENSION] = Verifier(
        keys, settings.JWT_ISSUER, settings.JWT_AUDIENCE, settings.JWT_LEEWAY
    )
    app.before_request(authenticate_request)
    app.before_websocket(authenticate_websocket)
    for endpoint in PLUMBING_PUBLIC:
        public(app.view_functions[endpoint])
    document_bearer_tokens(app)


def document_bearer_tokens(app: Quart) -> None:
    """/openapi.json: a bearer JWT on every operation unless it declares its
    own (the scopes of `@require_scopes`, none for `@public`); /docs gets an
    Authorize button for the token."""
    schema = app.extensions["QUART_SCHEMA"]
    schema.security_schemes = {
        "bearer": HttpSecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
    }
    schema.security = [{"bearer": []}]
