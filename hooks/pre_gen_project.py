"""Pre-generation hook: refuse a bad answer before any file is written.

Cookiecutter renders this file with Jinja and runs it with its own Python, in
the new project's directory, which it removes again when the hook fails.

The answers reach the code as data only: Jinja writes them as JSON into the raw
string below (``tojson`` escapes every ``'``, so no answer can close it) and
``main`` parses that JSON. Quotes, backslashes, newlines or non-ASCII in an
answer can neither break nor inject into this script.

Imported without rendering (by the template's tests and by
``local_extensions.py``), the module is plain Python: the rules are functions.
Keep it free of the two-character Jinja openers, since Jinja reads it all.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable, Mapping

from slugify import slugify  # cookiecutter depends on python-slugify

# Single quotes on purpose (`tojson` writes none), hence no reformatting.
ANSWERS_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary")
ASGI_SERVERS = ("hypercorn", "granian", "uvicorn")
DATABASES = ("sqlite", "postgresql", "none")
AUTHS = ("none", "jwt")

# Names the slug must not take. The standard library is checked through
# sys.stdlib_module_names; the template's suite checks that every import name
# installed with the baked service and its dev tools is listed here.
RESERVED_NAMES = frozenset(
    {
        # what the baked service and its dev extra install, with every asgi_server
        *("aiofiles", "anyio", "ast_serialize", "blinker", "click", "coverage"),
        *("dotenv", "editables", "granian", "httptools", "idna", "uvicorn", "uvloop"),
        *("watchfiles", "websockets"),
        *("flask", "h11", "h2", "hatchling", "hpack", "hypercorn", "hyperframe"),
        *("iniconfig", "itsdangerous", "jinja2", "librt", "markupsafe", "mypy"),
        *("mypyc", "mypy_extensions", "packaging", "pathspec", "pip", "pkg_resources"),
        *("pluggy", "priority", "py", "pygments", "pytest", "pytest_asyncio"),
        *("quart", "ruff", "setuptools", "tomlkit", "trove_classifiers"),
        *("typing_extensions", "werkzeug", "wsproto", "yaml"),
        # the API contract and the data layer, with every database
        *("aiosqlite", "annotated_types", "asyncpg", "attr", "attrs", "greenlet"),
        *("jsonschema", "jsonschema_path", "jsonschema_specifications", "mako"),
        *("lazy_object_proxy", "openapi_schema_validator", "openapi_spec_validator"),
        *("pathable", "pydantic", "pydantic_core", "pydantic_settings"),
        *("quart_schema", "referencing", "rfc3339_validator", "rpds", "six"),
        *("sqlalchemy", "swagger_ui_bundle", "typing_inspection"),
        # the JSON encoder of responses and log lines; /metrics
        *("orjson", "prometheus_client"),
        # calls to other services, rate limits, CORS; bearer tokens (auth=jwt)
        *("certifi", "httpcore", "httpx", "quart_cors", "quart_rate_limiter"),
        *("cffi", "cryptography", "jwt", "pycparser"),
        # the dev extra's workflow tools: cruft, pre-commit, tox (with tox-uv)
        *("annotated_doc", "arrow", "binaryornot", "cachetools", "cfgv"),
        *("charset_normalizer", "colorama", "cookiecutter", "cruft", "dateutil"),
        *("distlib", "filelock", "git", "gitdb", "identify", "markdown_it", "mdurl"),
        *("nodeenv", "platformdirs", "pre_commit", "pyproject_api"),
        *("python_discovery", "requests", "rich", "shellingham", "slugify", "smmap"),
        *("text_unidecode", "tomli_w", "tox", "tox_uv", "tox_uv_meta", "typer"),
        *("tzdata", "urllib3", "uv", "virtualenv", "wheel"),
        # names the baked layout uses, or that its .gitignore ignores
        *("app", "asgi", "asgi_calls", "build", "conftest", "deploy", "dist"),
        *("guard", "health", "htmlcov", "lifecycle", "logs", "preflight", "proxy"),
        *("request_context", "settings", "test", "tests", "views", "wrappers"),
        *("alembic", "api", "core", "database", "fields", "migrations", "models"),
        *("json_provider", "log_output", "metrics", "schemas"),
        *("auth", "auth_keys", "client", "client_calls", "client_credentials"),
        *("cors", "credential_calls", "rate_limits", "tokens"),
    }
)

# PEP 440's own pattern (Appendix B), as the `packaging` library spells it.
# Written out because the hook runs in cookiecutter's Python, which need not
# have `packaging` installed.
_PEP440 = re.compile(
    r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?
    (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?
    (?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
    """,
    re.VERBOSE | re.IGNORECASE,
)

# The WHATWG HTML "valid email address" rule: strict enough to catch typos,
# loose enough for every address people really use.
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`|~-]+"
    r"@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
)

# Long enough for any sensible name, short enough that the baked code's lines
# that hold the package name stay within ruff's 88 columns.
MAX_SLUG_LENGTH = 40

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators
# (YAML and JavaScript read those as line breaks).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_slug(slug: str) -> str | None:
    """Return the rule that `slug` breaks, or None when it is a good package name."""
    if not _IDENTIFIER.fullmatch(slug):
        return "must be a Python identifier: ASCII letters, digits and underscores"
    if slug != slug.lower():
        return "must be lowercase"
    if not slug[0].isalpha() or slug.endswith("_"):
        return "must start with a letter and end with a letter or digit"
    if len(slug) > MAX_SLUG_LENGTH:
        return f"must be at most {MAX_SLUG_LENGTH} characters long"
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        return "must not be a Python keyword"
    if slug in sys.stdlib_module_names:
        return "must not shadow a standard library module"
    if slug in RESERVED_NAMES:
        return "must not shadow a dependency or a name the service uses"
    return None


def derive_slug(project_name: str) -> str:
    """Turn any project name into a slug that `check_slug` accepts.

    Accents are transliterated ("Zürich" gives "zurich"), anything else that is
    not a letter or digit becomes a single underscore, a long name is cut to
    MAX_SLUG_LENGTH, and a name that would still break a rule gets "service"
    put before or after it.
    """
    # Room is left for the "service_" or "_service" added below.
    slug = slugify(project_name, separator="_")[: MAX_SLUG_LENGTH - 8].rstrip("_")
    if not slug:
        return "service"
    if not slug[0].isalpha():
        slug = f"service_{slug}"
    if check_slug(slug) is not None:
        slug = f"{slug}_service"
    return slug


def _one_line(value: str, *, required: bool) -> str | None:
    if required and not value.strip():
        return "must not be empty"
    if _CONTROL.search(value):
        return "must be a single line with no control characters"
    return None


def _email(value: str) -> str | None:
    if not _EMAIL.fullmatch(value):
        return "must be an email address like name@example.com"
    return None


def _version(value: str) -> str | None:
    if not _PEP440.fullmatch(value):
        return "must be a PEP 440 version such as 0.1.0 or 1.0.0rc1"
    return None


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(choices)}"
        return None

    return check


# Every answer and the rule it must follow, in the order cookiecutter asks.
RULES: dict[str, Callable[[str], str | None]] = {
    "project_name": lambda value: _one_line(value, required=True),
    "project_slug": check_slug,
    "description": lambda value: _one_line(value, required=False),
    "author_name": lambda value: _one_line(value, required=True),
    "author_email": _email,
    "version": _version,
    "python_version": _one_of(PYTHON_VERSIONS),
    "license": _one_of(LICENSES),
    "asgi_server": _one_of(ASGI_SERVERS),
    "database": _one_of(DATABASES),
    "auth": _one_of(AUTHS),
}


def check_answers(answers: Mapping[str, object]) -> list[str]:
    """Return one line per bad answer, naming the field, the value and the rule."""
    problems = []
    for field, rule in RULES.items():
        value = answers.get(field)
        broken = rule(value) if isinstance(value, str) else "must be given as text"
        if broken is not None:
            shown = json.dumps(value, ensure_ascii=False)
            problems.append(f"error: {field} {shown} is not accepted: it {broken}.")
    return problems


def main(answers_json: str = ANSWERS_JSON) -> int:
    problems = check_answers(json.loads(answers_json))
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
