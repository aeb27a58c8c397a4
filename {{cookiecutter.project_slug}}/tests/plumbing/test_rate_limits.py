"""The service's own rate limit (core/http/rate_limits.py): off unless set; then
each client address, as proxy handling sees it, gets RATE_LIMIT_REQUESTS
requests per RATE_LIMIT_PERIOD across the endpoints, and a JSON 429 with
Retry-After past them. The probes and CORS preflights are not counted."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from quart import Blueprint, Quart
from quart.typing import TestClientProtocol as Client
from quart_rate_limiter import RateLimiter, rate_limit

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.http.rate_limits import MemoryStore
from {{ cookiecutter.project_slug }}.core.settings import (
    ENV_PREFIX,
    SettingsError,
)
from {{ cookiecutter.project_slug }}.views import blueprints

LIMIT = 3  # requests a minute, in these tests
PREFLIGHT = {
    "Origin": "https://app.example.com",
    "Access-Control-Request-Method": "GET",
}


def set_env(monkeypatch: pytest.MonkeyPatch, **settings: object) -> None:
    """Settings for the apps built after this (the `app` fixture's too)."""
    for key, value in settings.items():
        monkeypatch.setenv(f"{ENV_PREFIX}_{key}", json.dumps(value))


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `app` fixture's app allows each client LIMIT requests a minute."""
    set_env(monkeypatch, RATE_LIMIT_REQUESTS=LIMIT, RATE_LIMIT_PERIOD=60.0)


@pytest.fixture
def behind_one_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, TRUSTED_PROXY_HOPS=1)


async def statuses(client: Client, count: int, path: str = "/") -> list[int]:
    """The statuses of `count` GETs of `path`, one after the other."""
    return [(await client.get(path)).status_code for _ in range(count)]


async def forwarded_for(client: Client, addresses: list[str]) -> list[int]:
    """The statuses of GETs of / with each X-Forwarded-For in turn."""
    return [
        (await client.get("/", headers={"X-Forwarded-For": value})).status_code
        for value in addresses
    ]


async def test_off_by_default_and_not_even_installed(
    app: Quart, client: Client
) -> None:
    hooks = app.before_request_funcs[None]

    assert not any(isinstance(getattr(h, "__self__", None), RateLimiter) for h in hooks)
    response = await client.get("/")
    assert "RateLimit-Limit" not in response.headers
    assert await statuses(client, 20) == [200] * 20


@pytest.mark.usefixtures("limited")
async def test_over_the_limit_is_a_json_429_with_retry_after(client: Client) -> None:
    assert await statuses(client, LIMIT) == [200] * LIMIT

    response = await client.get("/", headers={"X-Request-ID": "limited-1"})

    assert response.status_code == 429
    assert await response.get_json() == {
        "error": "Too Many Requests",
        "status": 429,
        "message": "This user has exceeded an allotted request count. Try again later.",
    }
    # One request is freed every 60 / LIMIT seconds.
    assert 1 <= int(response.headers["Retry-After"]) <= 60 // LIMIT
    assert response.headers["X-Request-ID"] == "limited-1"


@pytest.mark.usefixtures("limited")
async def test_a_clients_requests_count_together_across_endpoints(
    client: Client,
) -> None:
    paths = ["/", "/openapi.json", "/", "/openapi.json"]

    got = [(await client.get(path)).status_code for path in paths]

    assert got == [200, 200, 200, 429]


@pytest.mark.usefixtures("limited")
async def test_the_probes_are_never_limited(client: Client) -> None:
    await statuses(client, LIMIT + 1)

    assert await statuses(client, 10, "/healthz") == [200] * 10
    assert await statuses(client, 10, "/readyz") == [200] * 10
    assert (await client.get("/")).status_code == 429


@pytest.mark.usefixtures("limited")
async def test_cors_preflights_are_not_counted(client: Client) -> None:
    preflights = [
        (await client.options("/", headers=PREFLIGHT)).status_code for _ in range(10)
    ]

    assert preflights == [204] * 10
    assert await statuses(client, LIMIT + 1) == [200] * LIMIT + [429]
    # Another OPTIONS is a request like any other.
    assert (await client.options("/")).status_code == 429


@pytest.mark.usefixtures("limited", "behind_one_proxy")
async def test_a_forged_forwarded_for_does_not_escape_the_limit(client: Client) -> None:
    # The proxy appends the address it sees; the entries before it are the
    # client's to write, a new one each time.
    forged = [f"6.6.6.{n}, 203.0.113.9" for n in range(LIMIT + 1)]

    assert await forwarded_for(client, forged) == [200] * LIMIT + [429]
    # Another client, as the proxy saw it.
    assert await forwarded_for(client, ["203.0.113.10"]) == [200]


@pytest.mark.usefixtures("limited")
async def test_without_a_trusted_proxy_forwarded_for_is_ignored(
    client: Client,
) -> None:
    forged = [f"203.0.113.{n}" for n in range(LIMIT + 1)]

    assert await forwarded_for(client, forged) == [200] * LIMIT + [429]


{%- if cookiecutter.auth == 'jwt' %}


@pytest.mark.usefixtures("limited")
async def test_the_limit_comes_before_the_token_check(anonymous: Client) -> None:
    # A flood without a token is refused before any token is verified.
    assert await statuses(anonymous, LIMIT + 1) == [401] * LIMIT + [429]
{%- endif %}


# Routes with limits of their own, as quart-rate-limiter's docs add them.
strict = Blueprint("strict", __name__)


@strict.get("/strict/a")
@rate_limit(1, timedelta(minutes=1))
async def strict_a() -> dict[str, str]:
    return {}


@strict.get("/strict/b")
@rate_limit(1, timedelta(minutes=1))
async def strict_b() -> dict[str, str]:
    return {}


async def test_a_routes_own_limit_is_counted_per_endpoint() -> None:
    app = create_app(blueprints=[*blueprints, strict], RATE_LIMIT_REQUESTS=100)
    async with app.test_app():
        client = app.test_client()
        first_a = await client.get("/strict/a")
        second_a = await client.get("/strict/a")
        first_b = await client.get("/strict/b")

    assert first_a.status_code == 200
    assert second_a.status_code == 429
    assert first_b.status_code == 200


def test_bad_limits_name_the_setting() -> None:
    with pytest.raises(SettingsError, match="RATE_LIMIT_REQUESTS"):
        create_app(RATE_LIMIT_REQUESTS=-1)
    with pytest.raises(SettingsError, match="RATE_LIMIT_PERIOD"):
        create_app(RATE_LIMIT_PERIOD=0)


async def test_the_memory_store_forgets_clients_whose_allowance_is_whole() -> None:
    store = MemoryStore(sweep_from=3)
    now = datetime.now(UTC)
    await store.set("past", now - timedelta(seconds=1))
    await store.set("soon", now + timedelta(seconds=60))
    assert len(store.times) == 2  # below sweep_from: kept

    await store.set("later", now + timedelta(seconds=60))  # the third: a sweep

    assert set(store.times) == {"soon", "later"}
    assert await store.get("past", now) == now  # as if never seen
    assert store.next_sweep == 4  # twice what was kept
