"""`make openapi`: write the API's OpenAPI document to a file, for review.

    python -m {{ cookiecutter.project_slug }}.core.openapi openapi.json

A test (tests/test_api.py) fails while the file differs from the document the
code generates, so every change to the API shows up in a diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from quart import Quart
from quart_schema import QuartSchema


def openapi_json(app: Quart) -> str:
    """The app's OpenAPI document, as `make openapi` writes it."""
    schema: QuartSchema = app.extensions["QUART_SCHEMA"]
    document = schema.openapi_provider.schema()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    from ..app import create_app

    [path] = argv
    Path(path).write_text(openapi_json(create_app()), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover - make openapi
    sys.exit(main(sys.argv[1:]))
