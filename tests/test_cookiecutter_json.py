"""cookiecutter.json and the hook's rules stay in step."""

from __future__ import annotations

from contexts import DEFAULTS
from test_hooks import pre_gen

VARIABLES = [key for key in DEFAULTS if not key.startswith("_")]


def test_every_variable_has_a_rule_in_the_pre_gen_hook() -> None:
    assert list(pre_gen.RULES) == VARIABLES


def test_every_variable_is_asked_as_a_sentence() -> None:
    prompts = DEFAULTS["__prompts__"]

    assert list(prompts) == VARIABLES
    for variable, prompt in prompts.items():
        assert prompt[0].isupper(), variable
        assert prompt.endswith(("?", ":")), variable


def test_the_hook_knows_the_same_choices() -> None:
    assert list(pre_gen.PYTHON_VERSIONS) == DEFAULTS["python_version"]
    assert list(pre_gen.LICENSES) == DEFAULTS["license"]
