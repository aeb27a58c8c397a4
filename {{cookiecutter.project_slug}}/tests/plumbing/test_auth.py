"""Bearer tokens (core/auth/tokens.py): which endpoints need one, the refusals and
their challenges, scopes, claims, the OpenAPI document and the settings the
service refuses to start without. Hostile tokens: test_auth_tokens.py.

The tests that need no token send none: they use the `anonymous` client, or
one for an app of their own (tokens.without_token)."""

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Blueprint, Quart, websocket
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.auth.tokens import (
    current_claims,
    granted_scopes,
    public,
    require_scopes,
)
from {{ cookiecutter.project_slug }}.core.settings import (
    SettingsError,
)
from {{ cookiecutter.project_slug }}.views import blueprints

from tests.support.asgi_calls import call, response_of, websocket_scope
from tests.support.tokens import (
    REALM,
    assert_refused,
    bearer,
    mint,
    without_token,
)

# Endpoints that exist only in these tests.
guarded = Blueprint("guarded", __name__)


@guarded.get("/reports")
@require_scopes("reports:read")
async def reports() -> dict[str, Any]:
    return dict(current_claims())


@guarded.post("/reports")
@require_scopes("reports:read", "reports:write")
async def write_report() -> dict[str, Any]:
    return {}


@guarded.get("/open")
@public
async def open_report() -> dict[str, Any]:
    return {}


@guarded.websocket("/ws")
async def feed() -> None:
    await websocket.send(current_claims()["sub"])


@pytest.fixture
async def guarded_app() -> AsyncIterator[Quart]:
    app = create_app(blueprints=[*blueprints, guarded])
    async with app.test_app():
        yield app


PUBLIC_PATHS = [
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/docs",
    "/docs/assets/swagger-ui-bundle.js",
    "/docs/assets/swagger-ui.css",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
async def test_the_probes_and_the_api_document_need_no_token(
    anonymous: Client, path: str
) -> None:
    response = await anonymous.get(path)

    assert response.status_code == 200
    assert "WWW-Authenticate" not in response.headers


async def test_every_other_endpoint_needs_a_token(
    app: Quart, anonymous: Client
) -> None:
    paths = [
        re.sub("<[^>]+>", "1", rule.rule)  # /items/1
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.rule not in PUBLIC_PATHS
    ]
    paths.remove("/docs/assets/1")  # its two files are public

    assert "/" in paths
    for path in paths:
        response = await anonymous.get(path)
        assert response.status_code == 401, path


async def test_a_request_without_a_token_is_a_json_401_with_a_challenge(
    anonymous: Client,
) -> None:
    response = await anonymous.get("/")

    message = await assert_refused(response, 401, REALM)
    assert response.headers["WWW-Authenticate"] == REALM  # no error code
    assert "Bearer" in message


NOT_BEARER = {
    "empty": "",
    "basic": "Basic dXNlcjpwYXNzd29yZA==",
    "token-alone": "token",
    "jwt-without-scheme": mint(),
}


@pytest.mark.parametrize("authorization", NOT_BEARER.values(), ids=NOT_BEARER)
async def test_another_scheme_is_a_401_without_an_error_code(
    anonymous: Client, authorization: str
) -> None:
    response = await anonymous.get("/", headers={"Authorization": authorization})

    await assert_refused(response, 401, REALM)
    assert response.headers["WWW-Authenticate"] == REALM


async def test_a_valid_token_is_served(anonymous: Client) -> None:
    response = await anonymous.get("/", headers=bearer(mint()))

    assert response.status_code == 200
    assert await response.get_json() == {}


async def test_the_scheme_is_case_insensitive(anonymous: Client) -> None:
    response = await anonymous.get("/", headers={"Authorization": f"bearer {mint()}"})

    assert response.status_code == 200


async def test_an_unknown_path_stays_a_json_404_and_a_wrong_method_a_405(
    anonymous: Client,
) -> None:
    missing = await anonymous.get("/no/such/page")
    wrong = await anonymous.delete("/")

    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert (await missing.get_json())["status"] == 404
    assert (await wrong.get_json())["status"] == 405
    assert "WWW-Authenticate" not in missing.headers


async def test_options_needs_no_token(anonymous: Client) -> None:
    response = await anonymous.options("/")

    assert response.status_code == 204


async def test_a_route_answers_with_the_scope_it_declares(guarded_app: Quart) -> None:
    token = mint(scope="reports:read", sub="alice")

    response = await without_token(guarded_app).get("/reports", headers=bearer(token))

    assert response.status_code == 200
    assert (await response.get_json())["sub"] == "alice"


@pytest.mark.parametrize(
    ("method", "scope", "needed"),
    [
        ("GET", "", "reports:read"),
        ("GET", "reports:write", "reports:read"),
        ("POST", "reports:read", "reports:read reports:write"),
    ],
    ids=["no-scope", "another-scope", "one-of-two"],
)
async def test_a_token_without_the_routes_scopes_is_a_json_403(
    guarded_app: Quart, method: str, scope: str, needed: str
) -> None:
    client = without_token(guarded_app)
    send = client.post if method == "POST" else client.get

    response = await send("/reports", headers=bearer(mint(scope=scope)))

    message = await assert_refused(response, 403, REALM)
    assert response.headers["WWW-Authenticate"] == (
        f'{REALM}, error="insufficient_scope",'
        f' error_description="{message}", scope="{needed}"'
    )
    assert (await response.get_json())["error"] == "Forbidden"


@pytest.mark.parametrize(
    ("token_claims", "granted"),
    [
        ({"scope": "a:read  b:write "}, {"a:read", "b:write"}),
        ({"scp": ["a:read", 7]}, {"a:read"}),
        ({"scp": "a:read b:write"}, {"a:read", "b:write"}),
        ({"scope": "a:read", "scp": ["b:write"]}, {"a:read", "b:write"}),
        ({"scope": ["a:read"]}, {"a:read"}),
        ({"scope": 7}, set()),
        ({}, set()),
    ],
    ids=["scope", "scp-list", "scp-string", "both", "scope-list", "number", "none"],
)
def test_the_scopes_a_token_grants(
    token_claims: dict[str, Any], granted: set[str]
) -> None:
    assert granted_scopes(token_claims) == granted


async def test_a_public_route_has_no_claims(guarded_app: Quart) -> None:
    response = await without_token(guarded_app).get("/open")

    assert response.status_code == 200
    async with guarded_app.test_request_context("/open"):
        with pytest.raises(RuntimeError, match="public"):
            current_claims()


async def test_a_websocket_needs_a_token_too(guarded_app: Quart) -> None:
    refused = await call(
        guarded_app, websocket_scope(path="/ws", headers=[(b"authorization", b"")])
    )
    accepted = await call(
        guarded_app,
        websocket_scope(
            path="/ws", headers=[(b"authorization", b"Bearer " + mint().encode())]
        ),
    )

    status, headers, body = response_of(refused)
    assert (status, body["status"]) == (401, 401)
    assert headers[b"www-authenticate"] == REALM.encode()
    assert [m.get("text") for m in accepted if m["type"] == "websocket.send"] == [
        "test-client"
    ]
{%- if cookiecutter.database != 'none' %}


async def test_the_items_need_items_read_to_read_and_items_write_to_change(
    anonymous: Client,
) -> None:
    reader = bearer(mint(scope="items:read"))

    listed = await anonymous.get("/items", headers=reader)
    created = await anonymous.post("/items", json={"name": "x"}, headers=reader)

    assert listed.status_code == 200
    await assert_refused(created, 403, f'{REALM}, error="insufficient_scope"')
    assert created.headers["WWW-Authenticate"].endswith('scope="items:write"')


async def test_creating_an_item_logs_who_did(
    anonymous: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    writer = bearer(mint(scope="items:write", sub="alice"))

    response = await anonymous.post("/items", json={"name": "x"}, headers=writer)

    item = await response.get_json()
    assert f"item {item['id']} created by alice" in caplog.messages
{%- else %}


async def test_the_home_view_logs_who_called(
    anonymous: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    response = await anonymous.get("/", headers=bearer(mint(sub="alice")))

    assert await response.get_json() == {}
    assert "called by alice" in caplog.messages
{%- endif %}


async def test_the_document_declares_the_bearer_scheme_and_each_routes_needs(
    client: Client,
) -> None:
    document = await (await client.get("/openapi.json")).get_json()

    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert document["security"] == [{"bearer": []}]
    paths = document["paths"]
    assert paths["/healthz"]["get"]["security"] == []
    assert paths["/readyz"]["get"]["security"] == []
    assert "security" not in paths["/"]["get"]  # a token, any scope
{%- if cookiecutter.database != 'none' %}
    read, write = [{"bearer": ["items:read"]}], [{"bearer": ["items:write"]}]
    assert paths["/items"]["get"]["security"] == read
    assert paths["/items"]["post"]["security"] == write
    assert paths["/items/{item_id}"]["get"]["security"] == read
    assert paths["/items/{item_id}"]["patch"]["security"] == write
    assert paths["/items/{item_id}"]["delete"]["security"] == write
{%- endif %}


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        (["JWT_PUBLIC_KEY"], "need JWT_PUBLIC_KEY or JWT_JWKS_URL:"),
        (["JWT_ISSUER"], "need JWT_ISSUER:"),
        (["JWT_AUDIENCE"], "need JWT_AUDIENCE:"),
        (
            ["JWT_PUBLIC_KEY", "JWT_ISSUER", "JWT_AUDIENCE"],
            "need JWT_ISSUER, JWT_AUDIENCE, JWT_PUBLIC_KEY or JWT_JWKS_URL:",
        ),
    ],
    ids=["key", "issuer", "audience", "all"],
)
def test_the_service_refuses_to_start_without_its_settings(
    unset: list[str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        create_app(**dict.fromkeys(unset))
