"""Write the template's openapi.json from the documents four bakes generate.

The baked project ships openapi.json, and its own test fails unless the file
is exactly what the code generates (`make openapi`). Cookiecutter's hooks run
without the service's dependencies, so the file is a Jinja template: the
document of a bake with a database, and of one without, each with auth=none
and with auth=jwt (which adds the bearer scheme and each route's scopes), with
the answers that vary (title and version) put back as Jinja expressions.
After changing the baked API, refresh it:

    python tests/support/openapi_template.py DATABASE_BAKE/openapi.json \
        NONE_BAKE/openapi.json JWT_DATABASE_BAKE/openapi.json JWT_NONE_BAKE/openapi.json

with each file written by `make openapi` in a default bake (project name
"My Service", version 0.1.0), in one with database=none, and in those two
with auth=jwt (whose `make openapi` needs the JWT settings create_app
requires, such as MY_SERVICE_JWT_PUBLIC_KEY, MY_SERVICE_JWT_ISSUER and
MY_SERVICE_JWT_AUDIENCE in the environment; their values do not show in
the document).
"""

from __future__ import annotations

import sys
from pathlib import Path

TEMPLATE = (
    Path(__file__).resolve().parents[2]
    / "{{cookiecutter.project_slug}}"
    / "openapi.json"
)
DEFAULT_INFO = """  "info": {
    "title": "My Service",
    "version": "0.1.0"
  },"""
JINJA_INFO = """  "info": {
    "title": {{ cookiecutter.project_name | json_string }},
    "version": {{ cookiecutter.version | json_string }}
  },"""


def templated(document: str) -> str:
    assert document.count(DEFAULT_INFO) == 1, "bake with the default answers"
    for marker in ("{{", "{%", "{#"):
        assert marker not in document, f"{marker} would be read as Jinja"
    return document.replace(DEFAULT_INFO, JINJA_INFO)


def by_database(with_database: Path, without: Path) -> str:
    """The two documents, chosen by the database answer."""
    return (
        "{%- if cookiecutter.database != 'none' -%}\n"
        + templated(with_database.read_text(encoding="utf-8"))
        + "{%- else -%}\n"
        + templated(without.read_text(encoding="utf-8"))
        + "{%- endif -%}\n"
    )


def main(
    with_database: Path, without: Path, jwt_with_database: Path, jwt_without: Path
) -> int:
    TEMPLATE.write_text(
        "{%- if cookiecutter.auth == 'jwt' -%}\n"
        + by_database(jwt_with_database, jwt_without)
        + "{%- else -%}\n"
        + by_database(with_database, without)
        + "{%- endif %}\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(argument) for argument in sys.argv[1:5])))
