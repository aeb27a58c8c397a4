"""CORS (core/http/cors.py): off unless CORS_ALLOWED_ORIGINS lists origins; then
those origins, and only those, may call the API from a page and read its
answers, errors included, and their preflights are answered."""

import json

import pytest
from quart.typing import TestClientProtocol as Client
from werkzeug.datastructures import Headers

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.settings import (
    ENV_PREFIX,
    SettingsError,
)

ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
}


def set_env(monkeypatch: pytest.MonkeyPatch, **settings: object) -> None:
    """Settings for the apps built after this (the `app` fixture's too)."""
    for key, value in settings.items():
        monkeypatch.setenv(f"{ENV_PREFIX}_{key}", json.dumps(value))


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `app` fixture's app allows ORIGIN."""
    set_env(monkeypatch, CORS_ALLOWED_ORIGINS=[ORIGIN, "http://localhost:3000"])


def listed(headers: Headers, name: str) -> set[str]:
    """A comma-separated header's entries, lowercased."""
    return {part.strip().lower() for part in headers.get(name, "").split(",")} - {""}


def cors_headers(headers: Headers) -> set[str]:
    return {name for name, _ in headers if name.lower().startswith("access-control-")}


def assert_readable_by_the_page(headers: Headers) -> None:
    """What lets ORIGIN's page read a response, and its chosen headers."""
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert listed(headers, "Access-Control-Expose-Headers") == {
        "x-request-id",
        "retry-after",
        "location",
    }
    assert "Access-Control-Allow-Credentials" not in headers
    assert "origin" in listed(headers, "Vary")  # caches keep origins apart


async def test_off_by_default_and_not_even_installed(client: Client) -> None:
    response = await client.get("/", headers={"Origin": ORIGIN})
    preflight = await client.options("/", headers=PREFLIGHT)

    assert response.status_code == 200
    assert cors_headers(response.headers) == set()
    assert "Vary" not in response.headers
    assert cors_headers(preflight.headers) == set()


@pytest.mark.usefixtures("allowed")
async def test_an_allowed_origin_may_read_the_response(client: Client) -> None:
    response = await client.get("/", headers={"Origin": ORIGIN})

    assert response.status_code == 200
    assert_readable_by_the_page(response.headers)


@pytest.mark.usefixtures("allowed")
async def test_an_origin_not_listed_gets_no_cors_headers(client: Client) -> None:
    for origin in ("https://evil.example.com", "http://app.example.com", "null"):
        response = await client.get("/", headers={"Origin": origin})

        assert response.status_code == 200  # served; the browser hides it
        assert cors_headers(response.headers) == set()
        assert "origin" in listed(response.headers, "Vary")


@pytest.mark.usefixtures("allowed")
async def test_a_preflight_is_answered(client: Client) -> None:
    response = await client.options("/", headers=PREFLIGHT)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert {"get", "post", "put", "patch", "delete"} <= listed(
        response.headers, "Access-Control-Allow-Methods"
    )
    assert listed(response.headers, "Access-Control-Allow-Headers") == {
        "authorization",
        "content-type",
        "x-request-id",
    }
    assert response.headers["Access-Control-Max-Age"] == "600"


@pytest.mark.usefixtures("allowed")
async def test_a_preflight_allows_only_the_listed_request_headers(
    client: Client,
) -> None:
    asked = {**PREFLIGHT, "Access-Control-Request-Headers": "content-type, x-secret"}

    response = await client.options("/", headers=asked)

    # The browser then refuses to send X-Secret: the request is not made.
    assert listed(response.headers, "Access-Control-Allow-Headers") == {"content-type"}


@pytest.mark.usefixtures("allowed")
async def test_an_error_is_readable_by_the_page(client: Client) -> None:
    response = await client.get("/no/such/thing", headers={"Origin": ORIGIN})

    assert response.status_code == 404
    assert (await response.get_json())["error"] == "Not Found"
    assert_readable_by_the_page(response.headers)


@pytest.mark.usefixtures("allowed")
async def test_a_rate_limited_request_is_readable_by_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch, RATE_LIMIT_REQUESTS=1)
    app = create_app()
    async with app.test_app():
        client = app.test_client()
        await client.get("/", headers={"Origin": ORIGIN})
        response = await client.get("/", headers={"Origin": ORIGIN})

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert_readable_by_the_page(response.headers)
{%- if cookiecutter.auth == 'jwt' %}


@pytest.mark.usefixtures("allowed")
async def test_a_preflight_needs_no_token(anonymous: Client) -> None:
    response = await anonymous.options("/", headers=PREFLIGHT)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.usefixtures("allowed")
async def test_a_request_without_a_token_is_readable_by_the_page(
    anonymous: Client,
) -> None:
    response = await anonymous.get("/", headers={"Origin": ORIGIN})

    assert response.status_code == 401
    assert_readable_by_the_page(response.headers)
{%- endif %}


@pytest.mark.parametrize(
    "origins",
    [["*"], ["https://app.example.com/"], ["app.example.com"], ORIGIN],
    ids=["wildcard", "path", "no-scheme", "not-a-list"],
)
def test_origins_must_be_a_list_of_origins(origins: object) -> None:
    with pytest.raises(SettingsError, match="CORS_ALLOWED_ORIGINS"):
        create_app(CORS_ALLOWED_ORIGINS=origins)
