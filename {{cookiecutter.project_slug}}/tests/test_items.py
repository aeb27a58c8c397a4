"""The example resource, end to end through the app: create, read, list,
update, delete, its uniqueness rule and its validation errors."""

import asyncio
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
    "nul-in-description": ({"name": "a", "description": "a\x00b"}, ["description"]),
    "lone-surrogate": ({"name": "\ud800"}, ["name"]),
    "two-bad-fields": ({"name": 5, "quantity": -1}, ["name", "quantity"]),
    "huge-quantity": ({"name": "a", "quantity": 2**31}, ["quantity"]),
    "unknown-field": ({"name": "a", "colour": "red"}, ["colour"]),
    "not-an-object": ([1, 2], ["body"]),
    "string-for-number": ({"name": "a", "quantity": "7"}, ["quantity"]),
    "true-for-number": ({"name": "a", "quantity": True}, ["quantity"]),
    "fraction": ({"name": "a", "quantity": 1.5}, ["quantity"]),
    "zero-width-space": ({"name": "\u200b"}, ["name"]),
    "byte-order-mark": ({"name": "\ufeff"}, ["name"]),
    "zero-width-joiner-inside": ({"name": "x\u200d"}, ["name"]),
    "terminal-escape": ({"name": "red\x1b[31m"}, ["name"]),
    "bell": ({"name": "ding\x07"}, ["name"]),
    "line-separator": ({"name": "a\u2028b"}, ["name"]),
    "private-use": ({"name": "\ue000"}, ["name"]),
    "long-once-normalised": ({"name": "\ufdfa" * 6}, ["name"]),
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
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=x",
        "after=-1",
        f"after={2**31}",
        "limit=5_0",
        "limit=1.0",
        "limit=+5",
        "limit=%D9%A5",  # Arabic-Indic 5
        "limit=%205",
    ],
)
async def test_a_bad_page_query_is_a_400_naming_the_parameter(
    client: Client, query: str
) -> None:
    response = await client.get(f"/items?{query}")

    assert response.status_code == 400
    fields = (await response.get_json())["fields"]
    assert [problem["field"] for problem in fields] == [query.split("=")[0]]


async def test_a_whole_number_written_with_a_point_is_that_number(
    client: Client,
) -> None:
    """JSON Schema's `integer`, which /openapi.json declares, admits 4318.0."""
    item = await create(client, quantity=4318.0)

    assert item["quantity"] == 4318


async def test_a_name_is_stored_normalised_so_look_alikes_are_one_name(
    client: Client,
) -> None:
    item = await create(client, name="\uff58")  # fullwidth x

    assert item["name"] == "x"
    taken = await client.post("/items", json={"name": " x "})
    assert taken.status_code == 409


async def test_a_deleted_items_id_never_names_another_item(client: Client) -> None:
    first = await create(client, name="first")
    await client.delete(f"/items/{first['id']}")

    second = await create(client, name="second")

    assert second["id"] != first["id"]
    retried = await client.delete(f"/items/{first['id']}")
    assert retried.status_code == 404
    assert (await client.get(f"/items/{second['id']}")).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/items/%D9%A3", "/items/%EF%BC%91", "/items/1%E2%80%8B", "/items/+1"],
    ids=["arabic-indic-3", "fullwidth-1", "zero-width-space", "plus"],
)
async def test_only_ascii_digits_name_an_item(client: Client, path: str) -> None:
    for n in range(3):
        await create(client, name=f"item {n}")

    response = await client.get(path)

    assert response.status_code == 404


@pytest.mark.parametrize("item_id", [2**31, 10**30])
async def test_an_id_beyond_the_table_is_a_404_for_every_method(
    client: Client, item_id: int
) -> None:
    path = f"/items/{item_id}"
    responses = [
        await client.get(path),
        await client.patch(path, json={"quantity": 1}),
        await client.delete(path),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]


async def test_of_concurrent_deletes_of_one_item_exactly_one_succeeds(
    client: Client,
) -> None:
    item = await create(client)

    deletes = [client.delete(f"/items/{item['id']}") for _ in range(10)]
    responses = await asyncio.gather(*deletes)

    statuses = sorted(response.status_code for response in responses)

    assert statuses == [204] + [404] * 9


async def test_an_update_racing_a_delete_is_a_404_never_a_500(
    client: Client,
) -> None:
    for round_ in range(5):
        item = await create(client, name=f"raced {round_}")
        path = f"/items/{item['id']}"
        calls = [client.patch(path, json={"quantity": n}) for n in range(8)]
        calls.insert(3, client.delete(path))

        statuses = {response.status_code for response in await asyncio.gather(*calls)}

        assert statuses <= {200, 204, 404}, statuses
        assert (await client.get(path)).status_code == 404
