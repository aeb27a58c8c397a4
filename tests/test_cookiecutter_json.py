"""cookiecutter.json: its prompts read as sentences, in a real interactive
bake, and its variables and the hook's rules stay in step."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from contexts import DEFAULTS
from helpers import COOKIECUTTER, TEMPLATE_DIR, load_hook

pre_gen = load_hook("pre_gen_project")
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
    assert list(pre_gen.ASGI_SERVERS) == DEFAULTS["asgi_server"]
    assert list(pre_gen.DATABASES) == DEFAULTS["database"]
    assert list(pre_gen.AUTHS) == DEFAULTS["auth"]


def test_interactive_bake_asks_each_prompt_and_derives_the_slug(
    tmp_path: Path, cookiecutter_env: dict[str, str]
) -> None:
    # Typed answers: a name, the derived slug kept (Enter), ..., choices.
    typed = "Billing Gateway\n\nCharges cards.\nAda\nada@example.com\n\n2\n3\n3\n3\n2\n"

    result = subprocess.run(
        [COOKIECUTTER, "--output-dir", tmp_path, TEMPLATE_DIR],
        input=typed,
        capture_output=True,
        text=True,
        env=cookiecutter_env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    asked = [result.stdout.find(prompt) for prompt in DEFAULTS["__prompts__"].values()]
    assert -1 not in asked
    assert asked == sorted(asked)
    assert "(billing_gateway)" in result.stdout  # the derived default, offered
    meta = tomllib.loads((tmp_path / "billing_gateway" / "pyproject.toml").read_text())
    assert meta["project"]["description"] == "Charges cards."
    assert meta["project"]["requires-python"] == ">=3.12"
    assert meta["project"]["license"] == "BSD-3-Clause"
    assert not (tmp_path / "billing_gateway" / "alembic.ini").exists()  # database 3
    assert (
        tmp_path / "billing_gateway" / "billing_gateway" / "core" / "auth.py"
    ).exists()
