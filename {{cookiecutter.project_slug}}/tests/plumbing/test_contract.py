"""The API contract: every endpoint validated and documented, /openapi.json a
valid OpenAPI 3.1 document equal to the committed openapi.json, and /docs
served from the service alone."""

import json
import re
from pathlib import Path

from openapi_spec_validator import validate
from quart import Quart
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }}.core.http.contract import NoContent
from {{ cookiecutter.project_slug }}.openapi import main, openapi_json

PROJECT = Path(__file__).resolve().parents[2]
# quart-schema's own pages and the docs' assets: served, never documented.
HIDDEN = {"openapi", "swagger_ui", "docs_assets.docs_asset", "metrics.exposition"}


async def test_openapi_json_is_a_valid_openapi_3_1_document(client: Client) -> None:
    response = await client.get("/openapi.json")

    document = await response.get_json()
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_the_committed_openapi_json_is_what_the_code_generates(app: Quart) -> None:
    committed = (PROJECT / "openapi.json").read_text(encoding="utf-8")

    assert committed == openapi_json(app), (
        "the API changed: run `make openapi` and commit openapi.json"
    )


def test_make_openapi_writes_the_document(app: Quart, tmp_path: Path) -> None:
    assert main([str(tmp_path / "openapi.json")]) == 0

    written = (tmp_path / "openapi.json").read_text(encoding="utf-8")
    assert written == openapi_json(app)


def test_every_endpoint_documents_its_success_response(app: Quart) -> None:
    document = json.loads(openapi_json(app))["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in HIDDEN:
            continue
        path = re.sub(r"<(?:[^:<>]*:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            responses = document[path][method.lower()]["responses"]
            assert any(status.startswith("2") for status in responses), (
                f"{method} {rule.rule} declares no success response"
            )


def test_every_operation_documents_what_the_plumbing_may_answer(app: Quart) -> None:
    """429 unless exempt from the rate limit (the probes); 400 and 401 where a
    token is needed, 403 where a scope is (auth=jwt); a body's 400, 413 and
    415."""
    document = json.loads(openapi_json(app))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = set(operation["responses"])
            where = f"{method.upper()} {path}"
            exempt = path in ("/healthz", "/readyz")
            assert ("429" in responses) is not exempt, where
            security = operation.get("security", document.get("security", []))
            assert ("401" in responses) is any(security), where
            if any(security):  # 400: more than one Authorization header
                assert "400" in responses, where
            scoped = any(scopes for need in security for scopes in need.values())
            assert ("403" in responses) is scoped, where
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= responses, where


async def test_the_docs_page_loads_only_the_services_own_assets(
    client: Client,
) -> None:
    response = await client.get("/docs")
    page = await response.get_data(as_text=True)

    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(assets) == [
        "docs/assets/swagger-ui-bundle.js",
        "docs/assets/swagger-ui.css",
    ]
    assert "//" not in "".join(assets)  # no other host
    for asset in assets:
        served = await client.get(f"/{asset}")
        assert served.status_code == 200
        assert len(await served.get_data()) > 1000


async def test_the_bundles_other_files_are_not_served(client: Client) -> None:
    response = await client.get("/docs/assets/index.html")

    assert response.status_code == 404
    assert (await response.get_json())["status"] == 404


async def test_the_docs_and_their_assets_are_not_operations(
    client: Client,
) -> None:
    document = await (await client.get("/openapi.json")).get_json()

    assert not [path for path in document["paths"] if "docs" in path]
    assert "/openapi.json" not in document["paths"]


def test_a_bodiless_response_is_documented_without_content(app: Quart) -> None:
    provider = app.extensions["QUART_SCHEMA"].openapi_provider

    response, components = provider.build_response_object(NoContent, None)

    assert (response, components) == ({"description": "No Content"}, {})
