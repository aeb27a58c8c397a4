"""The keys that verify tokens (core/auth/keys.py): a PEM public key, or the
issuer's JSON Web Key Set, fetched from a real HTTP server on a loopback port
(tokens.JWKSServer) and cached, refetched and shared as the module says."""

import asyncio
import logging
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from quart import Quart

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.auth.keys import (
    JWKSKeys,
    UnknownKeyError,
    signing_keys,
)
from {{ cookiecutter.project_slug }}.core.settings import (
    SettingsError,
    settings_of,
)

from tests.support.tokens import (
    EC_KEY,
    KEY,
    OTHER_KEY,
    Clock,
    JWKSServer,
    KeyPair,
    bearer,
    mint,
    without_token,
)

LOGGER = logging.getLogger("{{ cookiecutter.project_slug }}")


async def status_for(app: Quart, token: str) -> int:
    response = await without_token(app).get("/", headers=bearer(token))
    return response.status_code


# JWT_PUBLIC_KEY


async def test_the_key_may_be_the_path_of_a_pem_file(tmp_path: Path) -> None:
    path = tmp_path / "issuer.pem"
    path.write_text(KEY.public_pem(), encoding="utf-8")

    app = create_app(JWT_PUBLIC_KEY=str(path))

    assert await status_for(app, mint()) == 200


def test_a_pem_file_that_cannot_be_read_stops_the_start(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"

    with pytest.raises(SettingsError, match=f"cannot read the PEM file {missing}"):
        create_app(JWT_PUBLIC_KEY=str(missing))


PRIVATE_PEM = KEY.private.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
NOT_PUBLIC_KEYS = {
    "garbage": "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
    "private-key": PRIVATE_PEM,
}


@pytest.mark.parametrize("value", NOT_PUBLIC_KEYS.values(), ids=NOT_PUBLIC_KEYS)
def test_a_key_that_is_not_a_public_key_stops_the_start(value: str) -> None:
    with pytest.raises(SettingsError, match="JWT_PUBLIC_KEY is not a PEM public key"):
        create_app(JWT_PUBLIC_KEY=value)


def test_a_key_none_of_the_algorithms_verifies_stops_the_start() -> None:
    p384 = KeyPair("p384", "ES384", ec.generate_private_key(ec.SECP384R1()))

    with pytest.raises(SettingsError, match="none of JWT_ALGORITHMS"):
        create_app(JWT_PUBLIC_KEY=p384.public_pem())  # ES384 is not accepted
    with pytest.raises(SettingsError, match="none of JWT_ALGORITHMS"):
        create_app(JWT_PUBLIC_KEY=EC_KEY.public_pem(), JWT_ALGORITHMS=["RS256"])


async def test_a_key_verifies_each_accepted_algorithm_it_fits() -> None:
    rsa_app = create_app()
    ec_app = create_app(JWT_PUBLIC_KEY=EC_KEY.public_pem())
    ps256 = KeyPair(KEY.kid, "PS256", KEY.private)

    assert await status_for(rsa_app, mint(KEY)) == 200
    assert await status_for(rsa_app, mint(ps256)) == 200
    assert await status_for(ec_app, mint(EC_KEY)) == 200
    assert await status_for(ec_app, mint(KEY)) == 401


def test_a_key_and_a_key_set_both_set_stop_the_start(jwks: JWKSServer) -> None:
    with pytest.raises(SettingsError, match="both set: set one"):
        create_app(JWT_JWKS_URL=jwks.url)


@pytest.mark.parametrize("url", ["http://", "http://a:b:c/"], ids=["no-host", "port"])
def test_a_key_set_url_that_is_not_a_url_stops_the_start(url: str) -> None:
    with pytest.raises(SettingsError, match=r"JWT_JWKS_URL = .* is not a URL"):
        create_app(JWT_PUBLIC_KEY=None, JWT_JWKS_URL=url)


# JWT_JWKS_URL, through the app


def jwks_app(jwks: JWKSServer, **overrides: Any) -> Quart:
    return create_app(JWT_PUBLIC_KEY=None, JWT_JWKS_URL=jwks.url, **overrides)


async def test_the_key_set_is_fetched_once_when_serving_starts(
    jwks: JWKSServer,
) -> None:
    app = jwks_app(jwks)
    assert jwks.fetches == 0  # building the app fetches nothing

    async with app.test_app():
        statuses = [await status_for(app, mint()) for _ in range(3)]
        ready = await without_token(app).get("/readyz")

    assert statuses == [200] * 3
    assert (await ready.get_json())["checks"]["jwks"] == "ok"
    assert jwks.fetches == 1


async def test_a_new_kid_is_fetched_when_a_token_names_it(jwks: JWKSServer) -> None:
    app = jwks_app(jwks, JWT_JWKS_REFETCH_SECONDS=0.001)
    async with app.test_app():
        jwks.document = {"keys": [OTHER_KEY.jwk()]}  # the issuer rotates its key

        rotated = await status_for(app, mint(OTHER_KEY))
        retired = await status_for(app, mint(KEY))

    assert (rotated, retired) == (200, 401)
    assert jwks.fetches == 3  # at the start, for the new kid, for the old one


async def test_unknown_kids_are_refetched_at_most_once_per_interval(
    jwks: JWKSServer,
) -> None:
    app = jwks_app(jwks)  # 10 seconds between fetches
    async with app.test_app():
        statuses = [await status_for(app, mint(OTHER_KEY)) for _ in range(5)]

    assert statuses == [401] * 5
    assert jwks.fetches == 1


async def test_concurrent_requests_wait_for_one_fetch(jwks: JWKSServer) -> None:
    app = jwks_app(jwks, JWT_JWKS_REFETCH_SECONDS=0.001)
    async with app.test_app():
        jwks.document = {"keys": [KEY.jwk(), OTHER_KEY.jwk()]}
        jwks.delay = 0.2

        statuses = await asyncio.gather(
            *(status_for(app, mint(OTHER_KEY)) for _ in range(10))
        )

    assert statuses == [200] * 10
    assert jwks.fetches == 2


async def test_an_issuer_down_at_the_start_leaves_the_service_unready_not_down(
    jwks: JWKSServer, caplog: pytest.LogCaptureFixture
) -> None:
    jwks.status = 503
    app = jwks_app(jwks, JWT_JWKS_REFETCH_SECONDS=0.001)
    async with app.test_app():
        refused = await status_for(app, mint())
        unready = await without_token(app).get("/readyz")
        jwks.status = 200  # the issuer is back: the next poll fetches
        ready = await without_token(app).get("/readyz")
        served = await status_for(app, mint())

    assert refused == 401
    assert unready.status_code == 503
    reason = (await unready.get_json())["checks"]["jwks"]
    assert reason.startswith("KeySetUnavailableError: no keys from JWT_JWKS_URL:")
    assert "503" in reason
    assert (ready.status_code, served) == (200, 200)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(line.startswith(f"JWKS {jwks.url} unavailable") for line in warnings)


# JWKSKeys, on its own, with a clock the tests move


@pytest.fixture
def keys(jwks: JWKSServer, clock: Clock) -> JWKSKeys:
    return JWKSKeys(settings_of(jwks_app(jwks)), LOGGER, clock)


async def test_refetches_are_at_most_once_per_interval(
    keys: JWKSKeys, jwks: JWKSServer, clock: Clock
) -> None:
    await keys.refresh()
    for _ in range(3):
        with pytest.raises(UnknownKeyError):
            await keys.key_for({"kid": "unknown"})
    clock.now += 10  # JWT_JWKS_REFETCH_SECONDS
    with pytest.raises(UnknownKeyError):
        await keys.key_for({"kid": "unknown"})

    assert jwks.fetches == 2


async def test_stale_keys_serve_while_the_set_is_fetched_again(
    keys: JWKSKeys, jwks: JWKSServer, clock: Clock
) -> None:
    await keys.refresh()
    clock.now += 300  # JWT_JWKS_CACHE_SECONDS
    jwks.document = {"keys": [OTHER_KEY.jwk()]}

    key = await keys.key_for({"kid": KEY.kid})  # at once, from the cache

    assert key.key_id == KEY.kid
    assert keys.fetching is not None
    await keys.fetching
    assert list(keys.keys) == [OTHER_KEY.kid]
    assert jwks.fetches == 2


async def test_a_failed_fetch_keeps_the_keys_held(
    keys: JWKSKeys, jwks: JWKSServer, clock: Clock
) -> None:
    await keys.refresh()
    jwks.document = b"<html>maintenance</html>"
    clock.now += 300

    await keys.refresh()

    assert list(keys.keys) == [KEY.kid]
    assert keys.error.startswith("JSONDecodeError")
    await keys.check()  # still ready


async def test_a_token_without_a_kid_names_no_key(keys: JWKSKeys) -> None:
    await keys.refresh()

    with pytest.raises(UnknownKeyError):
        await keys.key_for({"alg": "RS256"})


async def test_stopping_cancels_a_fetch_in_progress(
    keys: JWKSKeys, jwks: JWKSServer
) -> None:
    jwks.delay = 5
    fetching = keys.start_fetch()

    await asyncio.sleep(0.05)
    await keys.stop()

    assert fetching is not None
    assert fetching.cancelled()
    assert keys.fetching is None
    await keys.stop()  # nothing left to stop


async def test_an_unreachable_issuer_is_logged(
    caplog: pytest.LogCaptureFixture, clock: Clock, jwks: JWKSServer
) -> None:
    unreachable = {"JWT_JWKS_URL": "http://127.0.0.1:9/jwks"}
    settings = settings_of(jwks_app(jwks)).model_copy(update=unreachable)
    keys = JWKSKeys(settings, LOGGER, clock)

    await keys.refresh()

    assert keys.keys == {}
    assert keys.error.startswith("ConnectError")
    assert "JWKS http://127.0.0.1:9/jwks unavailable (ConnectError" in caplog.text
    with pytest.raises(RuntimeError, match="ConnectError"):
        await keys.check()


def jwk(key: KeyPair, **changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**key.jwk(), **changes}.items() if v is not None}


OCT = {"kty": "oct", "k": "c2VjcmV0", "kid": "shared", "alg": "HS256"}
USABLE = {
    "rsa": ([jwk(KEY)], [KEY.kid]),
    "without-alg": ([jwk(KEY, alg=None)], [KEY.kid]),  # RS256, as RSA keys default
    "ec-and-rsa": ([jwk(EC_KEY), jwk(KEY)], [EC_KEY.kid, KEY.kid]),
    "skipping-an-hmac-secret": ([OCT, jwk(KEY)], [KEY.kid]),
    "skipping-an-encryption-key": ([jwk(OTHER_KEY, use="enc"), jwk(KEY)], [KEY.kid]),
    "skipping-a-key-without-kid": ([jwk(OTHER_KEY, kid=None), jwk(KEY)], [KEY.kid]),
    "skipping-a-malformed-key": ([{"kty": "RSA", "n": 5}, jwk(KEY)], [KEY.kid]),
}


@pytest.mark.parametrize(("listed", "kept"), USABLE.values(), ids=USABLE)
def test_the_keys_kept_are_signing_keys_with_a_kid_for_an_accepted_algorithm(
    listed: list[Any], kept: list[str]
) -> None:
    keys = signing_keys({"keys": listed}, ["RS256", "ES256"])

    assert list(keys) == kept


UNUSABLE = {
    "not-an-object": [jwk(KEY)],
    "no-keys": {},
    "empty": {"keys": []},
    "keys-not-a-list": {"keys": "none"},
    "only-hmac": {"keys": [OCT]},
    "only-other-algorithms": {"keys": [jwk(KEY, alg="PS512")]},
}


@pytest.mark.parametrize("document", UNUSABLE.values(), ids=UNUSABLE)
def test_a_set_without_a_usable_key_is_a_failed_fetch(document: Any) -> None:
    with pytest.raises((ValueError, jwt.PyJWTError)):
        signing_keys(document, ["RS256", "ES256"])
