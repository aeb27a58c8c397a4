"""Hostile bearer tokens (core/auth/tokens.py): each a JSON 401 whose challenge
says why, never a 500, whichever the key's source; the clock skew allowed and
audience lists.

The tests that need no token send none: they use the `anonymous` client, or
one for an app of their own (tokens.without_token)."""

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from quart.typing import TestClientProtocol as Client
from werkzeug.datastructures import Headers

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.auth.tokens import (
    MAX_TOKEN_LENGTH,
    reason,
)
from {{ cookiecutter.project_slug }}.core.settings import (
    ENV_PREFIX,
)

from tests.support.tokens import (
    AUDIENCE,
    EC_KEY,
    INVALID,
    ISSUER,
    KEY,
    OTHER_KEY,
    REALM,
    JWKSServer,
    assert_refused,
    b64,
    bearer,
    claims,
    forge,
    mint,
    signed,
    signed_with_public_pem,
    without_token,
)

VALID = mint()
HEADER, PAYLOAD, SIGNATURE = VALID.split(".")
ADMIN_PAYLOAD = b64(json.dumps(claims(sub="admin")).encode())
NOW = int(time.time())
HOSTILE = {
    "alg-none": forge({"alg": "none", "kid": KEY.kid}, claims(), b""),
    "alg-none-signed": forge({"alg": "none", "kid": KEY.kid}, claims()),
    "hs256-with-the-public-pem": signed_with_public_pem(),
    "another-key-type": mint(EC_KEY, headers={"kid": KEY.kid}),
    "expired": mint(exp=NOW - 3600),
    "not-yet-valid": mint(nbf=NOW + 3600),
    "issued-in-the-future": mint(iat=NOW + 3600),
    "wrong-issuer": mint(iss="https://other-issuer.test"),
    "issuer-a-substring": mint(iss=ISSUER[:-3]),  # PyJWT 2.10.0 took it
    "wrong-audience": mint(aud="another-service"),
    "unknown-kid": mint(OTHER_KEY),
    "kid-not-a-string": forge({"alg": "RS256", "kid": 7}, claims()),
    "tampered-payload": f"{HEADER}.{ADMIN_PAYLOAD}.{SIGNATURE}",
    "truncated-signature": VALID[:-8],
    "two-parts": f"{HEADER}.{PAYLOAD}",
    "non-base64-part": f"{HEADER}.{PAYLOAD}!.{SIGNATURE}",
    "not-json": "abc.def.ghi",
    "header-not-an-object": forge(["RS256"], claims()),
    "payload-not-an-object": signed(["admin"]),
    "16-kb": mint(padding="x" * 16 * 1024),
    "bearer-doubled": f"Bearer {VALID}",
    "empty-token": "",
    "missing-exp": mint(exp=None),
    "missing-iss": mint(iss=None),
    "missing-aud": mint(aud=None),
    "exp-not-a-number": signed(claims(exp="tomorrow")),
    "exp-a-numeric-string": signed(claims(exp="9999999999")),
    "nbf-a-numeric-string": signed(claims(nbf=str(NOW))),
    "iat-a-numeric-string": signed(claims(iat=str(NOW))),
    "nbf-true": signed(claims(nbf=True)),
    "padded": f"{VALID}==",  # PyJWT decodes base64 with padding
    "padded-parts": f"{HEADER}==.{PAYLOAD}=.{SIGNATURE}==",
    "standard-base64": f"{HEADER}.{PAYLOAD}.+/{SIGNATURE[2:]}",
    "issuer-a-list": signed(claims(iss=[ISSUER])),
    "audience-a-number": signed(claims(aud=7)),
}


@pytest.fixture(params=["public-key", "jwks"])
async def verifying(
    request: pytest.FixtureRequest, jwks: JWKSServer
) -> AsyncIterator[Client]:
    """A client for an app whose key comes from each source."""
    overrides: dict[str, Any] = {}
    if request.param == "jwks":
        overrides = {"JWT_PUBLIC_KEY": None, "JWT_JWKS_URL": jwks.url}
    app = create_app(**overrides)
    async with app.test_app():
        yield without_token(app)


@pytest.mark.parametrize("token", HOSTILE.values(), ids=HOSTILE)
async def test_a_hostile_token_is_a_json_401(verifying: Client, token: str) -> None:
    response = await verifying.get("/", headers={"Authorization": f"Bearer {token}"})

    await assert_refused(response, 401, INVALID)


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (mint(exp=NOW - 3600), "the token has expired"),
        (mint(aud="another-service"), "the token is for another audience (aud)"),
        (mint(iss=None), "the token has no iss claim"),
        (signed_with_public_pem(), "the token's algorithm is not accepted"),
        ("x" * (MAX_TOKEN_LENGTH + 1), "the token is too long"),
        ("abc def", "the token is malformed"),
        (f"{VALID}==", "the token is malformed"),
        ("", "the Authorization header holds no token"),
        (signed(claims(exp="9999999999")), "the token's exp claim is not a number"),
        (signed(claims(nbf=str(NOW))), "the token's nbf claim is not a number"),
    ],
    ids=[
        "expired",
        "audience",
        "issuer",
        "algorithm",
        "too-long",
        "space",
        "padded",
        "empty",
        "exp-a-string",
        "nbf-a-string",
    ],
)
async def test_the_challenge_says_why_the_token_is_refused(
    anonymous: Client, token: str, why: str
) -> None:
    response = await anonymous.get("/", headers={"Authorization": f"Bearer {token}"})

    assert await assert_refused(response, 401, INVALID) == why


async def test_two_authorization_headers_are_a_json_400(anonymous: Client) -> None:
    """Which one would count is not the service's guess to make (RFC 6750
    3.1: invalid_request), even when both hold the same valid token."""
    both = Headers([("Authorization", f"Bearer {VALID}")] * 2)

    response = await anonymous.get("/", headers=both)

    challenge = f'{REALM}, error="invalid_request"'
    message = await assert_refused(response, 400, challenge)
    assert message == "the request has more than one Authorization header: send one"
    # The shape of every 400 /openapi.json documents: the part at fault.
    fault = {"field": "Authorization", "message": "sent more than once"}
    assert (await response.get_json())["fields"] == [fault]


async def test_a_fractional_exp_is_a_number(anonymous: Client) -> None:
    """NumericDate allows fractions (RFC 7519 2)."""
    response = await anonymous.get("/", headers=bearer(mint(exp=NOW + 300.5)))

    assert response.status_code == 200


def test_an_error_pyjwt_may_add_later_is_described_without_its_words() -> None:
    assert reason(jwt.InvalidTokenError('header "x"')) == "the token is invalid"


async def test_the_clock_skew_allowed_is_jwt_leeway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = mint(exp=int(time.time()) - 10)
    lenient = create_app()  # 30 seconds
    monkeypatch.setenv(f"{ENV_PREFIX}_JWT_LEEWAY", "0")
    strict = create_app()

    for app, status in ((lenient, 200), (strict, 401)):
        response = await without_token(app).get("/", headers=bearer(token))
        assert response.status_code == status


async def test_an_audience_list_naming_the_service_is_accepted(
    anonymous: Client,
) -> None:
    token = mint(aud=["another-service", AUDIENCE])

    response = await anonymous.get("/", headers=bearer(token))

    assert response.status_code == 200
