"""JSON responses through orjson: the JSON Quart would send, faster, with
dates in RFC 3339 as /openapi.json declares them."""

import dataclasses
import datetime
import json
from decimal import Decimal

import pytest
from pydantic import BaseModel, TypeAdapter
from quart import Quart, Response

from {{ cookiecutter.project_slug }}.core.http.json_encoding import (
    ServiceJSONProvider,
)


@dataclasses.dataclass
class Point:
    y: int
    x: int


class Label(BaseModel):
    text: str


async def body(app: Quart, value: object) -> bytes:
    async with app.app_context():
        response = app.json.response(value)
    assert isinstance(response, Response)
    return await response.get_data(as_text=False)


async def test_a_response_is_compact_sorted_json_and_a_newline(app: Quart) -> None:
    assert isinstance(app.json, ServiceJSONProvider)

    encoded = await body(app, {"b": 1, "a": [1, 2.5, None, True]})

    assert encoded == b'{"a":[1,2.5,null,true],"b":1}\n'


async def test_other_types_are_written_as_quart_writes_them(app: Quart) -> None:
    encoded = await body(
        app,
        {
            "point": Point(y=2, x=1),
            "amount": Decimal("1.10"),
            "label": Label(text="x"),
        },
    )

    assert json.loads(encoded) == {
        "point": {"x": 1, "y": 2},
        "amount": "1.10",
        "label": {"text": "x"},
    }
    assert b'"point":{"x":1,"y":2}' in encoded  # keys sorted, as Quart sorts


PARIS = datetime.timezone(datetime.timedelta(hours=1))
DATES = {
    "utc": (
        datetime.datetime(2026, 11, 29, 10, 30, 5, 250000, tzinfo=datetime.UTC),
        "2026-11-29T10:30:05.250000Z",
    ),
    "offset": (
        datetime.datetime(2026, 11, 29, 11, 30, tzinfo=PARIS),
        "2026-11-29T11:30:00+01:00",
    ),
    "naive-as-utc": (datetime.datetime(2026, 11, 29, 10, 30), "2026-11-29T10:30:00Z"),
    "date": (datetime.date(2026, 11, 29), "2026-11-29"),
}


@pytest.mark.parametrize(("value", "text"), DATES.values(), ids=DATES)
@pytest.mark.parametrize("debug", [False, True], ids=["compact", "debug"])
async def test_dates_are_rfc_3339_as_pydantic_writes_them(
    app: Quart, value: datetime.date, text: str, debug: bool
) -> None:
    app.debug = debug
    try:
        encoded = json.loads(await body(app, {"when": value}))["when"]
    finally:
        app.debug = False

    assert encoded == text
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        adapter = TypeAdapter(datetime.datetime)
        assert adapter.dump_json(value).decode() == f'"{text}"'
        assert adapter.validate_json(f'"{encoded}"') == value


async def test_text_beyond_ascii_is_sent_as_utf8(app: Quart) -> None:
    assert await body(app, {"city": "Zürich"}) == '{"city":"Zürich"}\n'.encode()


async def test_what_orjson_cannot_encode_goes_through_the_standard_library(
    app: Quart,
) -> None:
    assert await body(app, {"big": 2**70}) == b'{"big":1180591620717411303424}\n'


async def test_debug_mode_keeps_the_indented_output(app: Quart) -> None:
    app.debug = True
    try:
        assert await body(app, {"a": 1}) == b'{\n  "a": 1\n}\n'
    finally:
        app.debug = False


def test_dumps_is_compact_unless_given_options(app: Quart) -> None:
    assert app.json.dumps({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    assert app.json.dumps({"a": 1}, indent=1) == '{\n "a": 1\n}'
