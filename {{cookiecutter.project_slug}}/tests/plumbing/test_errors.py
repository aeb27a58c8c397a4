"""Every error a client can see is JSON, and no traceback leaks."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel, Field
from quart import Blueprint, Quart, request
from quart.typing import ResponseReturnValue
from quart.typing import TestClientProtocol as Client
from quart_schema import (
    RequestSchemaValidationError,
    validate_request,
    validate_response,
)

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.http.request_body import (
    malformed_reason,
)
from {{ cookiecutter.project_slug }}.views import blueprints

from tests.support.asgi_calls import call, http_scope

# Endpoints that exist only in these tests, to trigger each kind of error.
faulty = Blueprint("faulty", __name__)


@faulty.post("/echo")
async def echo() -> dict[str, Any]:
    return {"received": await request.get_json()}


@faulty.delete("/nothing")
async def nothing() -> ResponseReturnValue:
    return "", 204


@faulty.get("/boom")
async def boom() -> ResponseReturnValue:
    raise RuntimeError("secret internal detail")


class Sample(BaseModel):
    name: str
    size: int = Field(ge=0)


@faulty.post("/validated")
@validate_request(Sample)
async def validated(data: Sample) -> dict[str, Any]:
    return data.model_dump()


@faulty.get("/breaks-its-contract")
@validate_response(Sample)
async def breaks_its_contract() -> dict[str, Any]:
    return {"name": "x", "size": "not a number"}


@faulty.post("/unconvertible")
async def unconvertible() -> dict[str, Any]:
    raise RequestSchemaValidationError(TypeError("cannot load Sample"))


@pytest.fixture
async def faulty_client() -> AsyncIterator[Client]:
    app = create_app(blueprints=[*blueprints, faulty], TESTING=True)
    async with app.test_app():
        yield app.test_client()


async def test_unknown_path_is_a_json_404(client: Client) -> None:
    response = await client.get("/no/such/page")

    assert response.status_code == 404
    assert response.mimetype == "application/json"
    body = await response.get_json()
    assert body["status"] == 404
    assert body["error"] == "Not Found"
    assert "not found" in body["message"]


async def test_wrong_method_is_a_json_405_with_allow(
    client: Client,
) -> None:
    response = await client.delete("/")

    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert (await response.get_json())["error"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]


async def test_malformed_json_body_is_a_json_400(
    faulty_client: Client,
) -> None:
    response = await faulty_client.post(
        "/echo", data="{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert await response.get_json() == {
        "error": "Bad Request",
        "status": 400,
        "message": "the body is not valid JSON",
        "fields": [
            {
                "field": "body",
                "message": "Expecting property name enclosed in double quotes:"
                " line 1, column 2",
            }
        ],
    }


# body: what the 400 says about it
MALFORMED_JSON = {
    "not-utf-8": (b'{"name": "\xff\xfe"}', "the body is not UTF-8 text"),
    "nested-100000-deep": (
        b"[" * 100_000 + b"]" * 100_000,
        "the body is nested too deeply",
    ),
    "truncated": (b'{"name": "a', "Unterminated string starting at: line 1, column 10"),
    "empty": (b"", "the body is empty"),
    "blank": (b" \n", "the body is empty"),
    "bare-word": (b"yes", "Expecting value: line 1, column 1"),
    "two-values": (b"{} {}", "Extra data: line 1, column 4"),
}


@pytest.mark.parametrize(
    ("body", "reason"), MALFORMED_JSON.values(), ids=MALFORMED_JSON
)
async def test_every_malformed_json_body_is_a_json_400_saying_why(
    faulty_client: Client, body: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    for path in ("/echo", "/validated"):  # read by the view, and by quart-schema
        response = await faulty_client.post(
            path, data=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 400
        error = await response.get_json()
        assert error["message"] == "the body is not valid JSON"
        assert error["fields"] == [{"field": "body", "message": reason}]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback logged


def test_an_unexpected_parse_error_still_names_the_body() -> None:
    assert malformed_reason(ValueError("odd")) == "the body does not parse as JSON"


@faulty.post("/quiet-echo")
async def quiet_echo() -> dict[str, Any]:
    return {"received": await request.get_json(silent=True)}


@pytest.mark.parametrize(
    "body", [body for body, _ in MALFORMED_JSON.values()], ids=MALFORMED_JSON
)
async def test_a_silent_read_of_a_malformed_body_is_none(
    faulty_client: Client, body: bytes
) -> None:
    response = await faulty_client.post(
        "/quiet-echo", data=body, headers={"Content-Type": "application/json"}
    )

    assert await response.get_json() == {"received": None}


async def test_options_is_a_204_with_allow_and_no_body(app: Quart) -> None:
    # At the ASGI level: the test client's responses give themselves a
    # Content-Type.
    start, *rest = await call(app, http_scope(method="OPTIONS"))

    assert start["status"] == 204
    headers = dict(start["headers"])
    assert b"content-type" not in headers
    assert b"content-length" not in headers
    assert set(headers[b"allow"].split(b", ")) == {b"GET", b"HEAD", b"OPTIONS"}
    assert b"".join(message.get("body", b"") for message in rest) == b""


async def test_options_is_answered_for_every_route(client: Client) -> None:
    response = await client.options("/healthz")

    assert response.status_code == 204
    assert "GET" in response.headers["Allow"]


async def test_well_formed_json_body_is_accepted(
    faulty_client: Client,
) -> None:
    response = await faulty_client.post("/echo", json={"a": 1})

    assert response.status_code == 200
    assert await response.get_json() == {"received": {"a": 1}}


async def test_oversized_body_is_a_json_413(faulty_client: Client) -> None:
    too_big = b"x" * (1024 * 1024 + 1)

    response = await faulty_client.post(
        "/echo", data=too_big, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert (await response.get_json())["status"] == 413


async def test_unhandled_exception_is_a_generic_json_500(
    faulty_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = await faulty_client.get("/boom")

    assert response.status_code == 500
    assert response.mimetype == "application/json"
    body = await response.get_data(as_text=True)
    assert "secret internal detail" not in body
    assert "Traceback" not in body
    assert (await response.get_json())["error"] == "Internal Server Error"
    # The traceback goes to the log, and only there.
    logged = [r.exc_info for r in caplog.records if r.exc_info]
    assert len(logged) == 1
    assert "secret internal detail" in str(logged[0][1])


async def test_app_factory_registers_only_the_given_blueprints() -> None:
    app: Quart = create_app(blueprints=[faulty])

    assert "home" not in app.blueprints
    assert "faulty" in app.blueprints


async def test_a_body_failing_its_model_is_a_400_naming_each_field(
    faulty_client: Client,
) -> None:
    response = await faulty_client.post("/validated", json={"size": -1})

    assert response.status_code == 400
    body = await response.get_json()
    assert (body["error"], body["status"]) == ("Bad Request", 400)
    assert [problem["field"] for problem in body["fields"]] == ["name", "size"]


async def test_a_body_that_cannot_be_converted_is_a_400_on_the_body(
    faulty_client: Client,
) -> None:
    response = await faulty_client.post("/unconvertible")

    assert response.status_code == 400
    fields = (await response.get_json())["fields"]
    assert fields == [{"field": "body", "message": "cannot load Sample"}]


NOT_JSON = [None, "text/plain", "application/x-www-form-urlencoded"]


@pytest.mark.parametrize("content_type", NOT_JSON)
async def test_a_body_not_sent_as_json_is_a_json_415(
    faulty_client: Client, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = await faulty_client.post("/echo", data='{"a": 1}', headers=headers)

    assert response.status_code == 415
    body = await response.get_json()
    assert (body["error"], body["status"]) == ("Unsupported Media Type", 415)
    assert "application/json" in body["message"]


async def test_a_204_has_no_content_headers() -> None:
    app = create_app(blueprints=[faulty])
    async with app.test_app():
        # At the ASGI level, as for OPTIONS above.
        scope = http_scope(method="DELETE", path="/nothing", raw_path=b"/nothing")
        start, *_ = await call(app, scope)

    assert start["status"] == 204
    headers = dict(start["headers"])
    assert b"content-type" not in headers
    assert b"content-length" not in headers


async def test_a_response_breaking_its_model_is_a_generic_json_500(
    faulty_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = await faulty_client.get("/breaks-its-contract")

    assert response.status_code == 500
    body = await response.get_json()
    assert (body["error"], body["status"]) == ("Internal Server Error", 500)
    assert "not a number" not in await response.get_data(as_text=True)
    assert [r for r in caplog.records if r.exc_info]  # the bug is logged
