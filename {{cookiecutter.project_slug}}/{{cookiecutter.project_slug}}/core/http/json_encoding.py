"""JSON responses encoded by orjson, through Quart's JSON provider, so
`return {...}`, `jsonify` and quart-schema's models all use it.

The output is Quart's (sorted keys, compact, a final newline), except that
text beyond ASCII is UTF-8 and dates and date-times are RFC 3339 (naive
date-times taken as UTC). What orjson cannot encode goes through the standard
library; debug mode keeps Quart's indented output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

import orjson
from pydantic_core import to_jsonable_python
from quart import Quart
from quart.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

# Dataclasses go to `default`, which writes them as Flask does.
OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NAIVE_UTC
    | orjson.OPT_UTC_Z
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def rfc3339(value: date) -> str:
    """A date or date-time as orjson and pydantic write it: UTC as `Z`, a
    naive date-time as UTC."""
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


class ServiceJSONProvider(DefaultJSONProvider):
    """Quart's JSON provider, encoding with orjson."""

    @staticmethod
    def default(value: Any) -> Any:
        """Dates as RFC 3339, then Flask's types, then pydantic's (a model
        inside a dict), as quart-schema's provider does."""
        if isinstance(value, date):  # Flask's default would write HTTP dates
            return rfc3339(value)
        try:
            return DefaultJSONProvider.default(value)
        except TypeError:
            return to_jsonable_python(value)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:  # options for the standard library's json.dumps
            return super().dumps(obj, **kwargs)
        return self.encode(obj).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self._app.debug or self.compact is False:
            return super().response(*args, **kwargs)  # indented
        body = self.encode(self._prepare_response_obj(args, kwargs)) + b"\n"
        app = cast(Quart, self._app)  # typed as Flask's by the base class
        return app.response_class(body, mimetype=self.mimetype)

    def encode(self, obj: Any) -> bytes:
        """`obj` as compact JSON."""
        try:
            return orjson.dumps(obj, default=self.default, option=OPTIONS)
        except orjson.JSONEncodeError:
            return super().dumps(obj, separators=(",", ":")).encode()
