"""The Jinja filters in local_extensions.py, as Jinja sees them."""

from __future__ import annotations

import json
import tomllib

import yaml
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment

import local_extensions
from helpers import load_hook

PRE_GEN = load_hook("pre_gen_project")
FILTERS = Environment(
    extensions=[
        local_extensions.service_slug,
        local_extensions.toml_string,
        local_extensions.json_string,
    ]
).filters

# Any text a prompt can return: every code point but the lone surrogates,
# which UTF-8 input cannot carry.
ANY_ANSWER = st.text(st.characters(exclude_categories=["Cs"]))


@given(ANY_ANSWER)
def test_toml_string_round_trips_any_answer(value: str) -> None:
    document = f"key = {FILTERS['toml_string'](value)}\n"

    assert tomllib.loads(document)["key"] == value


def test_toml_string_keeps_non_ascii_readable() -> None:
    assert FILTERS["toml_string"]('Zürich "API" 😀') == '"Zürich \\"API\\" 😀"'


# What the pre-generation hook lets through in a one-line answer.
ONE_LINE_ANSWER = ANY_ANSWER.filter(
    lambda value: PRE_GEN._one_line(value, required=False) is None
)


@given(ONE_LINE_ANSWER)
def test_json_string_is_json_and_yaml_for_any_one_line_answer(value: str) -> None:
    quoted = FILTERS["json_string"](value)

    assert quoted == json.dumps(value, ensure_ascii=False)  # what openapi.json holds
    assert json.loads(quoted) == value
    assert yaml.safe_load(f"key: {quoted}\n")["key"] == value


@given(ANY_ANSWER)
def test_service_slug_is_the_hooks_derive_slug(name: str) -> None:
    assert FILTERS["service_slug"](name) == PRE_GEN.derive_slug(name)
