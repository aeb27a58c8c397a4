"""The deploy files agree with the service: the nginx gateway routes
/api/<slug>/ here, refuses exactly the bodies the service would, and limits
each client's rate with a JSON 429 like the service's; the container image
runs on the oldest Python supported, checks a route the app has and sets
settings that exist."""

import json
import math
import re
import shlex
import tomllib
from pathlib import Path

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core import settings

SLUG = "{{ cookiecutter.project_slug }}"
SNIPPET = Path(__file__).parents[2] / "deploy" / "nginx" / f"{SLUG}.conf"
UPSTREAM = SNIPPET.with_name(f"{SLUG}.upstream.conf")
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def directives(name: str, path: Path = SNIPPET) -> list[str]:
    """The arguments of each `name` directive in the snippet (or the file at
    `path`), outside comments."""
    text = re.sub(r"#.*", "", path.read_text(encoding="utf-8"))
    pattern = rf"\b{name}\s+([^;\x7b]*)[;\x7b]"  # args end at ";" or a block's "{"
    return [args.strip() for args in re.findall(pattern, text)]


def named_location(name: str) -> str:
    """The body of the snippet's `location @name { ... }` (it ends at a "}"
    alone on its line: a JSON body's braces are not the block's)."""
    text = SNIPPET.read_text(encoding="utf-8")
    found = re.search(rf"^location @{name} \x7b\n(.*?)^\x7d$", text, re.M | re.S)
    assert found, f"no location @{name} in {SNIPPET}"
    return found[1]


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


def test_gateway_limits_each_client_address_in_a_zone_of_its_own() -> None:
    (zone,) = directives("limit_req_zone", UPSTREAM)
    key, name, rate = zone.split()
    (limit,) = directives("limit_req")

    # The address nginx sees, not a header the client writes; a name that
    # starts with the slug, as every name in these files, so that the
    # services behind one gateway keep apart.
    assert key == "$binary_remote_addr"
    assert re.fullmatch(rf"zone={SLUG}_rate_limit:\d+[km]", name)
    assert re.fullmatch(r"rate=\d+r/[sm]", rate)
    assert re.fullmatch(rf"zone={SLUG}_rate_limit burst=[1-9]\d* nodelay", limit)
    assert directives("limit_req_status") == ["429"]


def test_gateway_answers_a_limited_request_as_the_service_would() -> None:
    location = named_location(f"{SLUG}_429")
    (zone,) = directives("limit_req_zone", UPSTREAM)
    (rate,) = re.findall(r"\brate=(\d+)r/([sm])", zone)
    per_second = int(rate[0]) / (1 if rate[1] == "s" else 60)
    headers = dict(re.findall(r"add_header (\S+) (\S+) always;", location))
    returned = re.search(r"return (\d+) '(.*)\\n';", location)

    assert f"429 @{SLUG}_429" in directives("error_page")
    assert returned, location
    assert returned[1] == "429"
    body = json.loads(returned[2])
    assert body.keys() == {"error", "status", "message"}
    assert (body["error"], body["status"]) == ("Too Many Requests", 429)
    assert headers["X-Request-ID"] == f"${SLUG}_rid"
    # Long enough for the zone's rate to free a request: edit the two together.
    assert int(headers["Retry-After"]) >= math.ceil(1 / per_second)
    assert "default_type application/json;" in location


DOCKERFILE = Path(__file__).parents[2] / "Dockerfile"


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
