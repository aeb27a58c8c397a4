"""make run's development key and settings, and make token's tokens
(dev_tokens.py): made once in instance/, never overwritten, private
key 0600; the token verifies with that key, for the development issuer and
audience, with the scopes asked for, and the app built from the development
settings takes it; what stops either is one line and status 2."""

import os
import re
import runpy
import stat
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from {{ cookiecutter.project_slug }} import create_app, dev_tokens
from {{ cookiecutter.project_slug }}.core.settings import (
    ENV_PREFIX,
    SETTINGS_FILE_VARIABLE,
    settings_of,
)
from {{ cookiecutter.project_slug }}.dev_tokens import (
    DEV_SETTINGS,
    PRIVATE_KEY,
    PUBLIC_KEY,
    DevTokenError,
    main,
    setup,
    token,
)

from tests.support.tokens import EC_KEY, bearer, declared_scopes, without_token

ISSUER = "{{ cookiecutter.project_slug }}-development"
AUDIENCE = "{{ cookiecutter.project_slug }}"


@pytest.fixture(autouse=True)
def project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusted_test_issuer: None
) -> Path:
    """A project root of the test's own, whose settings are only the packaged
    ones and instance/'s: not the test issuer's (conftest.py)."""
    monkeypatch.chdir(tmp_path)
    for name in ("JWT_PUBLIC_KEY", "JWT_ISSUER", "JWT_AUDIENCE"):
        monkeypatch.delenv(f"{ENV_PREFIX}_{name}")
    return tmp_path


def decode(token: str) -> dict[str, Any]:
    """The token's claims, verified with instance/'s public key."""
    claims: dict[str, Any] = jwt.decode(
        token,
        PUBLIC_KEY.read_text(),
        algorithms=["ES256", "RS256"],
        issuer=ISSUER,
        audience=AUDIENCE,
        options={"require": ["exp", "iss", "aud", "sub"]},
    )
    return claims


def test_setup_makes_the_key_pair_and_settings_once() -> None:
    assert setup() == [PRIVATE_KEY, PUBLIC_KEY, DEV_SETTINGS]
    made = {path: path.read_bytes() for path in (PRIVATE_KEY, PUBLIC_KEY, DEV_SETTINGS)}
    DEV_SETTINGS.write_text(DEV_SETTINGS.read_text() + "LOG_LEVEL: DEBUG\n")

    assert setup() == []
    assert PRIVATE_KEY.read_bytes() == made[PRIVATE_KEY]
    assert PUBLIC_KEY.read_bytes() == made[PUBLIC_KEY]
    assert DEV_SETTINGS.read_text().endswith("LOG_LEVEL: DEBUG\n")  # yours to edit
    assert stat.S_IMODE(PRIVATE_KEY.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path("instance").stat().st_mode) & 0o077 == 0
    assert sorted(os.listdir("instance")) == [
        "dev_jwt_private.pem",
        "dev_jwt_public.pem",
        "development.yml",
    ]


def test_the_settings_name_the_public_key_and_the_issuer() -> None:
    setup()

    app = create_app(DEV_SETTINGS)

    loaded = settings_of(app)
    assert loaded.JWT_PUBLIC_KEY == "instance/dev_jwt_public.pem"
    assert (loaded.JWT_ISSUER, loaded.JWT_AUDIENCE) == (ISSUER, AUDIENCE)


def test_a_token_carries_the_scopes_asked_for() -> None:
    claims = decode(token(["items:read", "other:scope"]))

    assert claims["scope"] == "items:read other:scope"
    assert claims["sub"] == "developer"
    assert isinstance(claims["iat"], int)
    assert claims["exp"] == claims["iat"] + 3600
    assert abs(claims["iat"] - time.time()) < 60


def test_by_default_a_token_grants_every_scope_the_routes_require() -> None:
    claims = decode(token())

    assert claims["scope"] == " ".join(declared_scopes(create_app(DEV_SETTINGS)))


async def test_the_app_of_the_development_settings_takes_the_token() -> None:
    issued = token()
    app = create_app(DEV_SETTINGS)
    client = without_token(app)

    async with app.test_app():
        accepted = await client.get("/", headers=bearer(issued))
        refused = await client.get("/")

    assert accepted.status_code == 200
    assert refused.status_code == 401


def test_a_token_is_refused_where_the_settings_trust_another_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_JWT_PUBLIC_KEY", EC_KEY.public_pem())

    with pytest.raises(DevTokenError, match="do not trust the development key"):
        token()


def test_a_token_is_refused_where_the_settings_take_a_key_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = tmp_path / "mine.yml"
    settings.write_text(
        f"JWT_JWKS_URL: https://issuer.test/jwks\nJWT_ISSUER: {ISSUER}\n"
        f"JWT_AUDIENCE: {AUDIENCE}\n"
    )
    monkeypatch.setenv(SETTINGS_FILE_VARIABLE, str(settings))

    named = re.escape(f"({settings} and the environment)")
    with pytest.raises(DevTokenError, match=named):
        token()


def test_quart_settings_names_the_settings_a_token_is_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    setup()
    settings = tmp_path / "mine.yml"
    settings.write_text(
        f"JWT_PUBLIC_KEY: {PUBLIC_KEY}\nJWT_ISSUER: mine\nJWT_AUDIENCE: {AUDIENCE}\n"
    )
    monkeypatch.setenv(SETTINGS_FILE_VARIABLE, str(settings))

    claims = jwt.decode(
        token(), PUBLIC_KEY.read_text(), algorithms=["ES256"], audience=AUDIENCE
    )

    assert claims["iss"] == "mine"


def test_a_key_pair_of_your_own_signs_with_its_algorithm() -> None:
    Path("instance").mkdir()
    key = rsa.generate_private_key(65537, 2048)
    PRIVATE_KEY.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    issued = token(["items:read"])

    assert jwt.get_unverified_header(issued)["alg"] == "RS256"
    assert decode(issued)["scope"] == "items:read"


def test_a_public_key_of_another_pair_is_not_replaced() -> None:
    setup()
    PUBLIC_KEY.write_text(EC_KEY.public_pem())

    with pytest.raises(DevTokenError, match="is not the public half of"):
        setup()
    assert PUBLIC_KEY.read_text() == EC_KEY.public_pem()


def test_a_private_key_that_is_not_one_stops() -> None:
    Path("instance").mkdir()
    PRIVATE_KEY.write_text("not a key\n")

    with pytest.raises(DevTokenError, match="is not an unencrypted PEM private key"):
        setup()


def test_an_instance_that_is_not_a_directory_stops() -> None:
    Path("instance").write_text("a file\n")

    with pytest.raises(DevTokenError, match="instance/: "):
        setup()


def test_a_bad_setting_stops_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_LOG_FORMAT", "xml")

    with pytest.raises(DevTokenError, match="setting LOG_FORMAT = 'xml'"):
        token()


def test_setup_says_what_it_made_on_stderr_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["setup"]) == 0
    first = capsys.readouterr()
    assert main(["setup"]) == 0
    second = capsys.readouterr()

    assert first.out == ""
    assert first.err == (
        f"made {PRIVATE_KEY}, {PUBLIC_KEY}, {DEV_SETTINGS}: for make run only\n"
    )
    assert (second.out, second.err) == ("", "")


def test_token_prints_the_token_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "items:read", "items:write"]) == 0
    printed = capsys.readouterr()

    assert printed.out.count("\n") == 1
    assert decode(printed.out.strip())["scope"] == "items:read items:write"


def test_a_refusal_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_LOG_FORMAT", "xml")

    status = main(["token"])

    printed = capsys.readouterr()
    assert status == 2
    assert printed.out == ""
    assert printed.err == (
        f"error: setting LOG_FORMAT = 'xml' (environment: {ENV_PREFIX}_LOG_FORMAT):"
        " input should be 'json' or 'text'\n"
    )


def test_it_runs_as_a_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = dev_tokens.__name__
    monkeypatch.setattr(sys, "argv", [module, "setup"])
    monkeypatch.delitem(sys.modules, module)  # run afresh, as `python -m` does

    with pytest.raises(SystemExit) as exited:
        runpy.run_module(module, run_name="__main__")

    assert exited.value.code == 0
    assert PRIVATE_KEY.exists()
