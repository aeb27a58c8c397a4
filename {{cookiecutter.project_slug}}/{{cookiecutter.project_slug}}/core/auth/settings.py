"""The settings of bearer tokens: those the service verifies, and those it
fetches for its own calls (client credentials)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    NonNegativeFloat,
    SecretStr,
)

from ..setting_types import Seconds, number, url

# The asymmetric algorithms PyJWT verifies: a token's signature can only be
# checked with a public key, never with a shared secret.
ASYMMETRIC_ALGORITHMS = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES256K", "ES384", "ES512", "EdDSA"),
)


def text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def asymmetric(value: str) -> str:
    if value not in ASYMMETRIC_ALGORITHMS:
        raise ValueError(f"must be one of {', '.join(ASYMMETRIC_ALGORITHMS)}")
    return value


def secret_text(value: SecretStr) -> SecretStr:
    text(value.get_secret_value())
    return value


Text = Annotated[str, AfterValidator(text)]
Url = Annotated[str, AfterValidator(url)]
Algorithm = Annotated[str, AfterValidator(asymmetric)]


class AuthSettings(BaseModel):
    """The settings of bearer tokens."""

    # The tokens the service verifies.
    JWT_PUBLIC_KEY: Text | None = None
    JWT_JWKS_URL: Url | None = None
    JWT_JWKS_CACHE_SECONDS: Seconds = 300.0
    JWT_JWKS_REFETCH_SECONDS: Seconds = 10.0
    JWT_ALGORITHMS: Annotated[list[Algorithm], Field(min_length=1)] = [
        *("RS256", "PS256", "ES256", "EdDSA")
    ]
    JWT_ISSUER: Text | None = None
    JWT_AUDIENCE: Text | None = None
    JWT_LEEWAY: Annotated[NonNegativeFloat, BeforeValidator(number)] = 30.0

    # Tokens the service fetches for its calls (client credentials).
    TOKEN_URL: Url | None = None
    TOKEN_SCOPE: Text | None = None
    CLIENT_ID: Text | None = None
    CLIENT_SECRET: Annotated[SecretStr, AfterValidator(secret_text)] | None = None
