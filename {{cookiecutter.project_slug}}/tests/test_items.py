"""The example resource, end to end through the app: create, read, list,
update, delete, its uniqueness rule and its validation errors."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }}.schemas.items import ItemOut

# RFC 3339's date-time, which /openapi.json declares: an offset is required.
RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.ASCII
)


async def create(client: Client, **fields: Any) -> dict[str, Any]:
    response = await client.post("/items", json={"name": "widget", **fields})
    assert response.status_code == 201, await response.get_data(as_text=True)
    item: dict[str, Any] = await response.get_json()
    return item


async def test_create_answers_201_with_the_item_and_its_location(
    client: Client,
) -> None:
    response = await client.post(
        "/items", json={"name": "  widget ", "description": "blue", "quantity": 3}
    )

    assert response.status_code == 201
    item = await response.get_json()
    fields = {"name": "widget", "description": "blue", "quantity": 3}
    assert item == {"id": item["id"], "created_at": item["created_at"], **fields}
    assert response.headers["Location"] == f"/items/{item['id']}"
    read = await client.get(response.headers["Location"])
    assert await read.get_json() == item


async def test_created_at_is_rfc_3339_as_documented_on_every_read(
    client: Client,
) -> None:
    before = datetime.now(UTC)
    response = await client.post("/items", json={"name": "widget"})
    read = await client.get(response.headers["Location"])
    listed = await client.get("/items")

    created = (await response.get_json())["created_at"]
    assert RFC3339.fullmatch(created), created
    assert (await read.get_json())["created_at"] == created
    assert (await listed.get_json())["items"][0]["created_at"] == created
    # The service's own response model reads back what it sent.
    item = ItemOut.model_validate_json(await read.get_data())
    assert before - timedelta(seconds=1) <= item.created_at <= datetime.now(UTC)


async def test_defaults_fill_the_optional_fields(client: Client) -> None:
    item = await create(client)

    assert (item["description"], item["quantity"]) == ("", 0)


async def test_an_absent_item_is_a_json_404(client: Client) -> None:
    for path in ("/items/1", f"/items/{2**31}", f"/items/{10**30}"):
        response = await client.get(path)

        assert response.status_code == 404
        assert (await response.get_json())["status"] == 404


async def test_a_taken_name_is_a_json_409(client: Client) -> None:
    await create(client, name="widget")

    response = await client.post("/items", json={"name": "widget"})

    assert response.status_code == 409
    body = await response.get_json()
    assert body["error"] == "Conflict"
    assert "widget" in body["message"]
    listed = await (await client.get("/items")).get_json()
    assert len(listed["items"]) == 1


async def test_renaming_onto_a_taken_name_is_a_409_and_changes_nothing(
    client: Client,
) -> None:
    await create(client, name="first")
    second = await create(client, name="second", quantity=1)

    response = await client.patch(
        f"/items/{second['id']}", json={"name": "first", "quantity": 9}
    )

    assert response.status_code == 409
    unchanged = await (await client.get(f"/items/{second['id']}")).get_json()
    assert unchanged == second


async def test_update_changes_only_the_fields_given(client: Client) -> None:
    item = await create(client, description="old", quantity=1)

    response = await client.patch(
        f"/items/{item['id']}", json={"quantity": 5, "description": None}
    )

    assert response.status_code == 200
    assert await response.get_json() == {**item, "quantity": 5}


async def test_updating_an_absent_item_is_a_404(client: Client) -> None:
    response = await client.patch("/items/7", json={"quantity": 1})

    assert response.status_code == 404


async def test_delete_answers_204_then_the_item_is_gone(client: Client) -> None:
    item = await create(client)

    deleted = await client.delete(f"/items/{item['id']}")

    assert deleted.status_code == 204
    assert await deleted.get_data() == b""
    assert (await client.get(f"/items/{item['id']}")).status_code == 404
    assert (await client.delete(f"/items/{item['id']}")).status_code == 404


async def test_list_pages_through_every_item_in_id_order(client: Client) -> None:
    created = [(await create(client, name=f"item {n}"))["id"] for n in range(5)]

    seen: list[int] = []
    after = 0
    while True:
        response = await client.get(f"/items?limit=2&after={after}")
        page = await response.get_json()
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]

    assert seen == sorted(created)


async def test_an_empty_list_has_no_next_page(client: Client) -> None:
    response = await client.get("/items")

    assert await response.get_json() == {"items": [], "next": None}


BAD_BODIES = {
    "missing-name": ({}, ["name"]),
    "empty-name": ({"name": "   "}, ["name"]),
    "long-name": ({"name": "x" * 101}, ["name"]),
    "nul-in-name": ({"name": "a\x00b"}, ["name"]),
    "lone-surrogate": ({"name": "\ud800"}, ["name"]),
    "two-bad-fields": ({"name": 5, "quantity": -1}, ["name", "quantity"]),
    "huge-quantity": ({"name": "a", "quantity": 2**31}, ["quantity"]),
    "unknown-field": ({"name": "a", "colour": "red"}, ["colour"]),
    "not-an-object": ([1, 2], ["body"]),
    "string-for-number": ({"name": "a", "quantity": "7"}, ["quantity"]),
    "true-for-number": ({"name": "a", "quantity": True}, ["quantity"]),
    "fraction": ({"name": "a", "quantity": 1.5}, ["quantity"]),
}


@pytest.mark.parametrize(("body", "fields"), BAD_BODIES.values(), ids=BAD_BODIES)
async def test_a_bad_body_is_a_400_naming_each_bad_field(
    client: Client, body: Any, fields: list[str]
) -> None:
    response = await client.post("/items", json=body)

    assert response.status_code == 400
    error = await response.get_json()
    assert error["error"] == "Bad Request"
    assert [problem["field"] for problem in error["fields"]] == fields
    assert all(problem["message"] for problem in error["fields"])


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "after=-1", f"after={2**31}"]
)
async def test_a_bad_page_query_is_a_400_naming_the_parameter(
    client: Client, query: str
) -> None:
    response = await client.get(f"/items?{query}")

    assert response.status_code == 400
    fields = (await response.get_json())["fields"]
    assert [problem["field"] for problem in fields] == [query.split("=")[0]]
