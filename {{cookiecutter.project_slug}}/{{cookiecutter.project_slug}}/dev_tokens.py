"""Bearer tokens for `make run` and `make token`, with no key of your own:

    python -m {{ cookiecutter.project_slug }}.dev_tokens setup
    python -m {{ cookiecutter.project_slug }}.dev_tokens token [SCOPE ...]

`setup` makes, once, in instance/ (git-ignored), a P-256 key pair and
development.yml, settings that trust it; no file is overwritten. `token`
prints an hour's token for those settings, granting the SCOPEs (by default
every scope the routes require). Errors print `error: ...` and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from quart import Quart

from .core.auth.keys import PublicKey
from .core.auth.tokens import EXTENSION, SCOPES
from .core.settings import SETTINGS_FILE_VARIABLE, SettingsError, settings_of

INSTANCE = Path("instance")
PRIVATE_KEY = INSTANCE / "dev_jwt_private.pem"
PUBLIC_KEY = INSTANCE / "dev_jwt_public.pem"
DEV_SETTINGS = INSTANCE / "development.yml"
ISSUER = "{{ cookiecutter.project_slug }}-development"
AUDIENCE = "{{ cookiecutter.project_slug }}"
SUBJECT = "developer"
LIFETIME = 3600  # seconds
# The keys PyJWT signs with (the key pair may be replaced by one of these).
PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
SETTINGS_TEXT = f"""\
# Settings for `make run` only, made by its first run (dev_tokens.py) and
# never overwritten: edit them at will. instance/ is git-ignored and never in
# the image; make serve and deploy/ do not read this file. `make token` prints
# a token these settings accept. QUART_SETTINGS=<file> makes make run use
# another file instead.
JWT_PUBLIC_KEY: {PUBLIC_KEY}
JWT_ISSUER: {ISSUER}
JWT_AUDIENCE: {AUDIENCE}
"""


class DevTokenError(RuntimeError):
    """No token can be made; the message says why."""


def create_once(path: Path, content: bytes, mode: int) -> bool:
    """Write `path` with this mode unless it exists; whether it was written.

    The file appears whole or not at all (written aside, then linked into
    place), so a make run and a make token started together do not clash."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)
    return True


def public_pem(key: PublicKeyTypes) -> bytes:
    """A public key in PEM (SubjectPublicKeyInfo), as the settings take it."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def setup() -> list[Path]:
    """Make what is missing of instance/ (see the module docstring); return
    the files made."""
    try:
        INSTANCE.mkdir(mode=0o700, exist_ok=True)
        made = []
        # A new key, kept only where there is none (P-256: made in no time).
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if create_once(PRIVATE_KEY, pem, 0o600):
            made.append(PRIVATE_KEY)
        private = private_key()
        if create_once(PUBLIC_KEY, public_pem(private.public_key()), 0o644):
            made.append(PUBLIC_KEY)
        elif PUBLIC_KEY.read_bytes() != public_pem(private.public_key()):
            raise DevTokenError(
                f"{PUBLIC_KEY} is not the public half of {PRIVATE_KEY}:"
                " remove both to make a new pair"
            )
        if create_once(DEV_SETTINGS, SETTINGS_TEXT.encode(), 0o644):
            made.append(DEV_SETTINGS)
    except OSError as error:
        raise DevTokenError(f"{INSTANCE}/: {error}") from None
    return made


def private_key() -> PrivateKey:
    """The development key: P-256 as made, or any key PyJWT signs with."""
    try:
        key = serialization.load_pem_private_key(PRIVATE_KEY.read_bytes(), None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, PrivateKey):
        raise DevTokenError(
            f"{PRIVATE_KEY} is not an unencrypted PEM private key for signing"
            " tokens: remove it to make a new pair"
        )
    return key


def declared_scopes(app: Quart) -> list[str]:
    """Every scope a route of `app` requires."""
    scopes: set[str] = set()
    for view in app.view_functions.values():
        scopes |= getattr(view, SCOPES, frozenset())
    return sorted(scopes)


def token(scopes: Sequence[str] | None = None) -> str:
    """A token the app built from the settings in use accepts (see the module
    docstring); every scope its routes require when `scopes` is None."""
    from .app import create_app

    setup()
    key = private_key()
    settings = os.environ.get(SETTINGS_FILE_VARIABLE) or DEV_SETTINGS
    try:
        app = create_app(settings)
    except SettingsError as error:
        raise DevTokenError(str(error)) from None
    keys = app.extensions[EXTENSION].keys
    if not isinstance(keys, PublicKey) or public_pem(keys.key) != public_pem(
        key.public_key()
    ):
        raise DevTokenError(
            f"the settings in use ({settings} and the environment) do not trust"
            f" the development key {PUBLIC_KEY}: a token signed with it would be"
            " refused"
        )
    issued = int(time.time())
    claims = {
        "iss": settings_of(app).JWT_ISSUER,
        "aud": settings_of(app).JWT_AUDIENCE,
        "sub": SUBJECT,
        "scope": " ".join(declared_scopes(app) if scopes is None else scopes),
        "iat": issued,
        "exp": issued + LIFETIME,
    }
    return jwt.encode(claims, key, algorithm=keys.algorithms[0])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.project_slug }}.dev_tokens",
        description="Development keys and tokens for make run (instance/).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="make instance/'s key pair and settings once")
    printing = commands.add_parser("token", help="print a token for curl")
    printing.add_argument("scopes", nargs="*", metavar="SCOPE")
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "setup":
            made = setup()
            if made:
                names = ", ".join(map(str, made))
                print(f"made {names}: for make run only", file=sys.stderr)
        else:
            print(token(arguments.scopes or None))
    except DevTokenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
