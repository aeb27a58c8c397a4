"""Pre-generation hook: refuse a bad answer before any file is written, naming
the rule it breaks, and print the command that bakes again with every other
answer kept (see docs/options.md).

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
import shlex
import sys
from collections.abc import Callable, Collection, Mapping
from os import environ
from pathlib import Path

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
        *("grimp", "importlinter"),
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
        # names beside the package at the project root (tests/ is a package
        # too), or that its .gitignore ignores
        *("app", "asgi", "build", "conftest", "deploy", "dist", "docs", "htmlcov"),
        *("instance", "migrations", "test", "tests", "alembic"),
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

_SLUG_CHARACTER = re.compile(r"[A-Za-z0-9_]")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators
# (YAML and JavaScript read those as line breaks).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def check_slug(slug: str) -> str | None:
    """Return the rules that `slug` breaks, or None when it is a good package name.

    Each rule of its spelling is checked on its own, so every one a slug breaks
    is named ("2Fast" must start with a letter and be lowercase) and none it
    keeps; the name rules (keyword, standard library, reserved) apply to a slug
    spelled right.
    """
    if not slug:
        return "must not be empty"
    broken = []
    others = dict.fromkeys(c for c in slug if not _SLUG_CHARACTER.fullmatch(c))
    if others:
        shown = _or_list([json.dumps(c, ensure_ascii=False) for c in others])
        broken.append(
            f"may hold only ASCII letters, digits and underscores, not {shown}"
        )
    if slug[0] in "0123456789_":
        broken.append("must start with a letter")
    if any("A" <= c <= "Z" for c in slug):
        broken.append("must be lowercase")
    if slug.endswith("_"):
        broken.append("must end with a letter or digit")
    if len(slug) > MAX_SLUG_LENGTH:
        broken.append(f"must be at most {MAX_SLUG_LENGTH} characters long")
    if broken:
        return "; it ".join(broken)
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


def broken_rules(answers: Mapping[str, object]) -> dict[str, str]:
    """Each bad answer's field and the rule it breaks, in the order asked."""
    broken = {}
    for field, rule in RULES.items():
        value = answers.get(field)
        problem = rule(value) if isinstance(value, str) else "must be given as text"
        if problem is not None:
            broken[field] = problem
    return broken


def check_answers(answers: Mapping[str, object]) -> list[str]:
    """Return one line per bad answer, naming the field, the value and the rule."""
    return [
        f"error: {field} {json.dumps(answers.get(field), ensure_ascii=False)}"
        f" is not accepted: it {rule}."
        for field, rule in broken_rules(answers).items()
    ]


# Cookiecutter renders a key=value answer as a Jinja template before it asks
# (cruft's --extra-context too), where a typed answer is kept as typed. Each
# brace that would open a Jinja tag is given as an expression that prints a
# brace, so such an answer comes back as typed. (Spelled in pieces: Jinja
# reads this file.)
_TAG_BRACE = re.compile(r"\{(?=[%#{])")
_LITERAL_BRACE = "{" + '{ "{" }' + "}"


def _as_typed(value: str) -> str:
    return _TAG_BRACE.sub(lambda _: _LITERAL_BRACE, value)


def _same_dir(one: str, other: str) -> bool:
    return Path(one).resolve() == Path(other).resolve()


def rerun_command(
    answers: Mapping[str, object],
    refused: Collection[str],
    project_dir: Path,
    shell_dir: str | None = None,
    overwrite: bool = False,
) -> str | None:
    """The command that bakes again with every answer but the `refused` ones
    given, so each prompt offers the answer given before (Enter keeps it) and
    a refused one is back at its default; None when the answers do not say
    how the bake was started.

    `project_dir` is the folder being baked into (the hook's working
    directory); `shell_dir` the user's current directory, if known
    (--output-dir is left out when it is the output directory); `overwrite`
    adds -f.
    """
    template = answers.get("_template")
    if not isinstance(template, str):
        return None
    kept = {
        field: _as_typed(value)
        for field in RULES
        if field not in refused and isinstance(value := answers.get(field), str)
    }
    # A slug that is the refused name's derived default is derived again, from
    # the fixed name.
    name = answers.get("project_name")
    derived = derive_slug(name) if isinstance(name, str) else None
    if "project_name" in refused and kept.get("project_slug") == derived:
        del kept["project_slug"]
    # cruft puts the template's commit in the context; cookiecutter does not.
    cruft = "_commit" in answers
    words = ["cruft", "create"] if cruft else ["cookiecutter"]
    output_dir = answers.get("_output_dir")
    if not isinstance(output_dir, str) and "project_slug" not in refused:
        output_dir = str(project_dir.parent)  # cruft gives no _output_dir
    if isinstance(output_dir, str) and not (
        shell_dir and _same_dir(output_dir, shell_dir)
    ):
        words += ["--output-dir", shlex.quote(output_dir)]
    checkout = answers.get("_checkout")
    if isinstance(checkout, str) and checkout:
        words += ["--checkout", shlex.quote(checkout)]
    if overwrite:
        words.append("-f")
    words.append(shlex.quote(template))
    if cruft:
        extra = json.dumps(kept, ensure_ascii=False)
        words += ["--extra-context", shlex.quote(extra)]
    else:
        words += [f"{field}={shlex.quote(value)}" for field, value in kept.items()]
    return " ".join(words)


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def main(answers_json: str = ANSWERS_JSON) -> int:
    answers = json.loads(answers_json)
    refused = list(broken_rules(answers))
    if not refused:
        return 0
    for line in check_answers(answers):
        print(line, file=sys.stderr)
    project_dir = Path.cwd()
    # Only a folder that existed before holds files when this hook runs, and
    # cookiecutter bakes into one only when told to (-f): the same folder again
    # needs -f again.
    overwrite = "project_slug" not in refused and any(project_dir.iterdir())
    command = rerun_command(
        answers, refused, project_dir, environ.get("PWD"), overwrite
    )
    if command is None:
        return 1
    asked = f"{_and_list(refused)} {'is' if len(refused) == 1 else 'are'}"
    print(
        f"To bake again, run this (Enter keeps each answer you gave;"
        f" {asked} asked afresh):\n{command}",
        file=sys.stderr,
    )
    if overwrite:
        print(
            f"(-f as before: {project_dir} already held files; add -s if you gave it.)",
            file=sys.stderr,
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
