"""The deploy files agree with the service: the nginx gateway routes
/api/<slug>/ here, and refuses exactly the bodies the service would; the
container image runs on the oldest Python supported, checks a route the app
has and sets settings that exist."""

import re
import shlex
import tomllib
from pathlib import Path

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core import settings

SLUG = "{{ cookiecutter.project_slug }}"
SNIPPET = Path(__file__).parents[1] / "deploy" / "nginx" / f"{SLUG}.conf"
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def directives(name: str) -> list[str]:
    """The arguments of each `name` directive in the snippet, outside comments."""
    text = re.sub(r"#.*", "", SNIPPET.read_text(encoding="utf-8"))
    pattern = rf"\b{name}\s+([^;\x7b]*)[;\x7b]"  # args end at ";" or a block's "{"
    return [args.strip() for args in re.findall(pattern, text)]


def nginx_size(value: str) -> int:
    """The bytes an nginx size means: "1m" is 1048576."""
    match = re.fullmatch(r"(\d+)([kmg]?)", value.lower())
    assert match, f"{value!r} is not an nginx size"
    return int(match[1]) * SIZE_UNITS[match[2]]


def test_nginx_size_reads_units() -> None:
    assert [nginx_size(size) for size in ("512", "4k", "1M")] == [512, 4096, 1048576]


def test_gateway_body_limit_is_max_content_length() -> None:
    packaged = settings.read_settings_file(settings.PACKAGED_SETTINGS)

    (limit,) = directives("client_max_body_size")

    assert nginx_size(limit) == packaged["MAX_CONTENT_LENGTH"]


def test_gateway_routes_the_api_prefix_here_and_strips_it() -> None:
    prefix = f"/api/{SLUG}"

    assert [loc for loc in directives("location") if "@" not in loc] == [
        f"{prefix}/",
        f"= {prefix}/metrics",  # answered 404 by the gateway itself
    ]
    # proxy_pass with a URI part ("/") replaces the matched prefix with it.
    assert directives("proxy_pass") == [f"http://{SLUG}/"]
    assert f"X-Forwarded-Prefix {prefix}" in directives("proxy_set_header")


DOCKERFILE = Path(__file__).parents[1] / "Dockerfile"


def dockerfile(keyword: str) -> list[str]:
    """The arguments of each `keyword` instruction in the Dockerfile."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", "")
    lines = [line.strip().partition(" ") for line in text.splitlines()]
    return [arguments.strip() for word, _, arguments in lines if word == keyword]


def test_image_is_built_on_the_oldest_python_supported() -> None:
    pyproject = tomllib.loads((DOCKERFILE.parent / "pyproject.toml").read_text())
    oldest = pyproject["project"]["requires-python"].removeprefix(">=")

    assert f"PYTHON_IMAGE=python:{oldest}-slim" in dockerfile("ARG")


def test_image_health_check_asks_for_a_route_of_the_app() -> None:
    (health_check,) = dockerfile("HEALTHCHECK")
    (path,) = re.findall(r"\}(/[\w/-]*)'", health_check)

    assert path in {rule.rule for rule in create_app().url_map.iter_rules()}


def test_image_sets_settings_that_exist() -> None:
    packaged = settings.read_settings_file(settings.PACKAGED_SETTINGS)
    prefix = f"{settings.ENV_PREFIX}_"
    names = [
        word.partition("=")[0] for env in dockerfile("ENV") for word in shlex.split(env)
    ]
    keys = {name.removeprefix(prefix) for name in names if name.startswith(prefix)}

    assert keys <= set(packaged)
