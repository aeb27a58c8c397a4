"""Routing answers in JSON and never sends a client to the host its Host
header named (core/http/application.py): a path with `//` is a 404, werkzeug's
redirects are JSON 308s whose Location is a path.

These call the app's ASGI stack with the scopes servers make: the test
client reads `//x` as a URL with a host.
"""

import pytest
from quart import Blueprint, Quart

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.http.application import own_path
from {{ cookiecutter.project_slug }}.views import blueprints

from tests.support.asgi_calls import call, http_scope, response_of

EVIL_HOST = [(b"host", b"evil.example")]

# Routes as users write them: one that ends in a slash, one with defaults.
slashed = Blueprint("slashed", __name__)


@slashed.get("/things/")
async def things() -> dict[str, int]:
    return {"things": 0}


@slashed.get("/pages/", defaults={"number": 1})
@slashed.get("/pages/<int:number>")
async def page(number: int) -> dict[str, int]:
    return {"page": number}


@pytest.fixture
def slashed_app() -> Quart:
    return create_app(blueprints=[*blueprints, slashed])


@pytest.mark.parametrize(
    "path",
    [
        "/healthz//",
        "/docs//assets/swagger-ui.css",
{%- if cookiecutter.database != 'none' %}
        "/items//1",
{%- endif %}
    ],
)
async def test_a_path_with_double_slashes_is_a_json_404(app: Quart, path: str) -> None:
    """werkzeug would merge the slashes and redirect, in HTML, to
    http://evil.example/... (leading slashes it reads as one: `//healthz` is
    /healthz, served without a redirect)."""
    scope = http_scope(path=path, raw_path=path.encode(), headers=EVIL_HOST)

    sent = await call(app, scope)

    status, headers, body = response_of(sent)
    assert (status, body["status"]) == (404, 404)
    assert headers[b"content-type"] == b"application/json"
    assert b"location" not in headers


@pytest.mark.parametrize(
    ("path", "query", "location"),
    [
        ("/things", b"", b"/things/"),
        ("/things", b"a=1&b=%2F", b"/things/?a=1&b=%2F"),
        ("/pages/1", b"", b"/pages/"),
    ],
    ids=["trailing-slash", "query-kept", "defaults"],
)
async def test_a_redirect_is_a_json_308_to_a_path(
    slashed_app: Quart, path: str, query: bytes, location: bytes
) -> None:
    scope = http_scope(path=path, query_string=query, headers=EVIL_HOST)

    sent = await call(slashed_app, scope)

    status, headers, body = response_of(sent)
    assert (status, headers[b"location"]) == (308, location)
    assert headers[b"content-type"] == b"application/json"
    assert body == {
        "error": "Permanent Redirect",
        "status": 308,
        "message": f"the resource is at {location.decode()}",
    }


async def test_behind_the_gateway_the_location_keeps_the_prefix() -> None:
    """The prefix the gateway strips (X-Forwarded-Prefix) leads the path; its
    X-Forwarded-Host is no more part of it than Host."""
    app = create_app(blueprints=[*blueprints, slashed], TRUSTED_PROXY_HOPS=1)
    forwarded = [
        (b"x-forwarded-prefix", b"/api/svc"),
        (b"x-forwarded-host", b"evil.example"),
    ]

    scope = http_scope(path="/things", headers=[*EVIL_HOST, *forwarded])

    sent = await call(app, scope)

    status, headers, _ = response_of(sent)
    assert (status, headers[b"location"]) == (308, b"/api/svc/things/")
{%- if cookiecutter.auth == 'jwt' %}


async def test_a_redirect_needs_no_token(slashed_app: Quart) -> None:
    """As a 404 needs none: no route has matched yet."""
    basic = (b"authorization", b"Basic eDp5")

    sent = await call(slashed_app, http_scope(path="/things", headers=[basic]))

    assert response_of(sent)[0] == 308
{%- endif %}


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://evil.example/things/?x=1", "/things/?x=1"),
        ("https://evil.example:8443/api/svc/things/", "/api/svc/things/"),
        ("http://evil.example//other.example/x", "/other.example/x"),
        ("http://evil.example", "/"),
    ],
)
def test_own_path_keeps_the_path_and_query_only(url: str, path: str) -> None:
    """`//other.example/x` as a Location would name another host."""
    assert own_path(url) == path
