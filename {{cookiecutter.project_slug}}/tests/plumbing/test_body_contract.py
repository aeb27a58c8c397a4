"""Whatever body a client sends, the answer is one its operation documents: a
status /openapi.json lists for that operation, with a body that matches the
schema listed for that status.

Run over every operation that takes a JSON body (yours too, once you add
them) and over one of the tests' own, so that every bake checks it.
"""

import json
import re
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from pydantic import BaseModel, Field
from quart import Blueprint, Quart
from quart_schema import (
    document_response,
    security_scheme,
    validate_request,
    validate_response,
)

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.http.errors import (
    ValidationErrorBody,
)
from {{ cookiecutter.project_slug }}.views import blueprints

LIMIT = 1024  # MAX_CONTENT_LENGTH of the app under test
JSON = "application/json"

probe = Blueprint("probe", __name__)


class Probe(BaseModel):
    """A body of the tests' own."""

    name: str
    size: int = Field(ge=0)


@probe.post("/contract-probe")
@security_scheme([{"bearer": ["probe:write"]}])  # documented only
@validate_request(Probe)
@validate_response(Probe, 201)
@document_response(ValidationErrorBody, 400)  # declared by the view this time
async def contract_probe(data: Probe) -> tuple[Probe, int]:
    """Echo a valid body."""
    return data, 201


# name: (body, Content-Type)
BODIES: dict[str, tuple[bytes, str | None]] = {
    "not-json": (b"{not json", JSON),
    "truncated": (b'{"name": "a', JSON),
    "empty": (b"", JSON),
    "not-utf-8": (b'{"name": "\xff\xfe"}', JSON),
    "nested-100000-deep": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "array": (b"[1, 2]", JSON),
    "null": (b"null", JSON),
    "wrong-types": (b'{"name": 5, "size": "x", "quantity": "7"}', JSON),
    "unknown-field": (b'{"colour": "red"}', JSON),
    "valid-probe": (b'{"name": "probe", "size": 1}', JSON),
    "form": (b"name=a", "application/x-www-form-urlencoded"),
    "no-content-type": (b'{"name": "a"}', None),
    "too-large": (b'{"name": "' + b"x" * LIMIT + b'"}', JSON),
}


def operations_with_a_body(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]


def check_documented(
    document: dict[str, Any], method: str, path: str, status: int, body: bytes
) -> None:
    responses = document["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}: undocumented"
    content = responses[str(status)].get("content")
    if content is None:  # documented without a body (204)
        assert body == b""
        return
    schema = {**content[JSON]["schema"], "components": document["components"]}
    OAS31Validator(schema).validate(json.loads(body))


@pytest.fixture
async def contract_app() -> Any:
    app = create_app(
        blueprints=[*blueprints, probe], TESTING=True, MAX_CONTENT_LENGTH=LIMIT
    )
    async with app.test_app():
        yield app


@pytest.mark.parametrize(("body", "content_type"), BODIES.values(), ids=BODIES)
async def test_every_answer_to_a_body_is_documented_for_its_operation(
    contract_app: Quart, body: bytes, content_type: str | None
) -> None:
    client = contract_app.test_client()
    document = await (await client.get("/openapi.json")).get_json()
    operations = operations_with_a_body(document)
    assert ("post", "/contract-probe") in operations

    for method, path in operations:
        url = re.sub(r"\{[^}]+\}", "1", path)  # an id, whether or not it exists
        headers = {"Content-Type": content_type} if content_type else {}
        send = getattr(client, method)  # client.post, client.patch ...
        response = await send(url, data=body, headers=headers)

        answer = await response.get_data(as_text=False)
        check_documented(document, method, path, response.status_code, answer)


async def test_a_body_is_documented_as_required_with_the_errors_it_brings(
    contract_app: Quart,
) -> None:
    document = await (await contract_app.test_client().get("/openapi.json")).get_json()

    for method, path in operations_with_a_body(document):
        operation = document["paths"][path][method]
        assert operation["requestBody"]["required"] is True
        assert {"400", "413", "415", "429"} <= set(operation["responses"])
        fields = operation["responses"]["400"]["content"][JSON]["schema"]
        assert "fields" in fields["required"]
    probe_responses = document["paths"]["/contract-probe"]["post"]["responses"]
    assert {"401", "403"} <= set(probe_responses)  # it needs a token and a scope
