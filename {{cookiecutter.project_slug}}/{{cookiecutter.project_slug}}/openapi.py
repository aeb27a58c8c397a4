"""`make openapi`: write the API's OpenAPI document to a file, for review.

    python -m {{ cookiecutter.project_slug }}.openapi openapi.json

A test (tests/plumbing/test_contract.py) fails while the file differs from
the document the code generates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
{%- if cookiecutter.auth == 'jwt' %}
from typing import Any
{%- endif %}

{% if cookiecutter.auth == 'jwt' %}from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
{% endif %}from quart import Quart
from quart_schema import QuartSchema


def openapi_json(app: Quart) -> str:
    """The app's OpenAPI document, as `make openapi` writes it."""
    schema: QuartSchema = app.extensions["QUART_SCHEMA"]
    document = schema.openapi_provider.schema()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


{%- if cookiecutter.auth == 'jwt' %}


def document_only_settings() -> dict[str, Any]:
    """The app is built only with a key, an issuer and an audience, which the
    document does not show: `make openapi` needs none of yours, so it gets a
    throwaway key (never used to verify anything) and placeholder names."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "JWT_PUBLIC_KEY": pem.decode(),
        "JWT_JWKS_URL": None,
        "JWT_ISSUER": "openapi",
        "JWT_AUDIENCE": "openapi",
    }
{%- endif %}


def main(argv: list[str]) -> int:
    from .app import create_app

    [path] = argv
{%- if cookiecutter.auth == 'jwt' %}
    app = create_app(**document_only_settings())
{%- else %}
    app = create_app()
{%- endif %}
    Path(path).write_text(openapi_json(app), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover - make openapi
    sys.exit(main(sys.argv[1:]))
