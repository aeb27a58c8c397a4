"""JSON responses through orjson: the JSON Quart would send, faster."""

import dataclasses
import datetime
import json
from decimal import Decimal

from pydantic import BaseModel
from quart import Quart, Response

from {{ cookiecutter.project_slug }}.core.json_provider import (
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
            "when": datetime.datetime(2026, 11, 29, 10, 30, tzinfo=datetime.UTC),
            "day": datetime.date(2026, 11, 29),
            "point": Point(y=2, x=1),
            "amount": Decimal("1.10"),
            "label": Label(text="x"),
        },
    )

    assert json.loads(encoded) == {
        "when": "Sun, 29 Nov 2026 10:30:00 GMT",
        "day": "Sun, 29 Nov 2026 00:00:00 GMT",
        "point": {"x": 1, "y": 2},
        "amount": "1.10",
        "label": {"text": "x"},
    }
    assert b'"point":{"x":1,"y":2}' in encoded  # keys sorted, as Quart sorts


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
