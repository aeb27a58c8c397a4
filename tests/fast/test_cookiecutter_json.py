"""cookiecutter.json: its prompts read as sentences and state their rules, in
a real interactive bake; its variables and the hook's rules stay in step; and
after a refused answer, the command the refusal prints asks them all again,
with every other answer kept."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from cookiecutter.environment import StrictEnvironment
from hypothesis import given
from hypothesis import strategies as st

from contexts import AWKWARD_AUTHOR, AWKWARD_DESCRIPTION, AWKWARD_NAME, DEFAULTS
from helpers import COOKIECUTTER, TEMPLATE_DIR, load_hook
from test_hooks import GOOD_ANSWERS, printed_command

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


# What each free-text prompt must say of its rule (a choice's rule is its menu).
PROMPT_RULES = {
    "project_name": "one line",
    "project_slug": "starting with a letter",
    "description": "one line",
    "author_name": "one line",
    "author_email": "email address",
    "version": "PEP 440",
}


def test_every_free_text_prompt_states_its_rule() -> None:
    prompts = DEFAULTS["__prompts__"]

    free_text = [key for key in VARIABLES if isinstance(DEFAULTS[key], str)]
    assert list(PROMPT_RULES) == free_text
    for variable, rule in PROMPT_RULES.items():
        assert rule in prompts[variable], variable
    assert "lowercase letters, digits and _" in prompts["project_slug"]
    # cookiecutter prints prompts with rich, which reads [...] as markup.
    assert not any("[" in prompt for prompt in prompts.values())


def test_the_hook_knows_the_same_choices() -> None:
    assert list(pre_gen.PYTHON_VERSIONS) == DEFAULTS["python_version"]
    assert list(pre_gen.LICENSES) == DEFAULTS["license"]
    assert list(pre_gen.ASGI_SERVERS) == DEFAULTS["asgi_server"]
    assert list(pre_gen.DATABASES) == DEFAULTS["database"]
    assert list(pre_gen.AUTHS) == DEFAULTS["auth"]


def answer(
    args: list[str | Path], typed: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run cookiecutter with `typed` as what the user types at its prompts."""
    return subprocess.run(
        args,
        input=typed,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_interactive_bake_asks_each_prompt_and_derives_the_slug(
    tmp_path: Path, cookiecutter_env: dict[str, str]
) -> None:
    # Typed answers: a name, the derived slug kept (Enter), ..., choices.
    typed = "Billing Gateway\n\nCharges cards.\nAda\nada@example.com\n\n2\n3\n3\n3\n2\n"

    result = answer(
        [COOKIECUTTER, "--output-dir", tmp_path, TEMPLATE_DIR], typed, cookiecutter_env
    )

    assert result.returncode == 0, result.stdout + result.stderr
    shown = " ".join(result.stdout.split())  # rich wraps long lines
    asked = [shown.find(prompt) for prompt in DEFAULTS["__prompts__"].values()]
    assert -1 not in asked
    assert asked == sorted(asked)
    assert "(billing_gateway)" in result.stdout  # the derived default, offered
    meta = tomllib.loads((tmp_path / "billing_gateway" / "pyproject.toml").read_text())
    assert meta["project"]["description"] == "Charges cards."
    assert meta["project"]["requires-python"] == ">=3.12"
    assert meta["project"]["license"] == "BSD-3-Clause"
    assert not (tmp_path / "billing_gateway" / "alembic.ini").exists()  # database 3
    assert (tmp_path / "billing_gateway" / "billing_gateway" / "core" / "auth").is_dir()


# --- the command a refusal prints to bake again, as a unit ------------------

STARTED = {"_template": "gh:me/tpl", "_output_dir": "/out", "_checkout": None}
# What a key=value answer becomes: cookiecutter renders it with Jinja.
JINJA = StrictEnvironment(context={"cookiecutter": {}})


def read_command(
    command: str | None, template: str = "gh:me/tpl"
) -> tuple[list[str], list[str], dict[str, str]]:
    """The words before the template, and the answers after it, as the shell
    and then cookiecutter read them."""
    assert command is not None
    words = shlex.split(command)
    at = words.index(template)
    pairs = (word.split("=", 1) for word in words[at + 1 :])
    answers = {key: JINJA.from_string(value).render() for key, value in pairs}
    return words[:1], words[1:at], answers


def test_rerun_command_gives_every_other_answer_as_typed() -> None:
    answers = {
        **GOOD_ANSWERS,
        **STARTED,
        "project_slug": "2fast_api",
        "project_name": AWKWARD_NAME,
        "author_name": AWKWARD_AUTHOR,
        "description": AWKWARD_DESCRIPTION + " {{ 7*7 }} {% if %} {# c #} {{{",
        "python_version": "3.13",
    }

    command = pre_gen.rerun_command(answers, ["project_slug"], Path("/out/2fast_api"))

    program, options, kept = read_command(command)
    assert (program, options) == (["cookiecutter"], ["--output-dir", "/out"])
    assert kept == {k: answers[k] for k in pre_gen.RULES if k != "project_slug"}


@given(st.text().filter(lambda text: pre_gen._one_line(text, required=False) is None))
def test_rerun_command_gives_back_any_one_line_answer(value: str) -> None:
    answers = {**GOOD_ANSWERS, **STARTED, "description": value, "version": "x"}

    command = pre_gen.rerun_command(answers, ["version"], Path("/out/my_service"))

    assert read_command(command)[2]["description"] == value


@pytest.mark.parametrize(
    ("started", "shell_dir", "overwrite", "options"),
    [
        ({}, "/out", False, []),
        ({}, "/out/../out/", False, []),
        ({}, "/elsewhere", False, ["--output-dir", "/out"]),
        ({}, None, False, ["--output-dir", "/out"]),
        ({"_checkout": "v2 beta"}, "/out", True, ["--checkout", "v2 beta", "-f"]),
    ],
)
def test_rerun_command_repeats_where_and_what_it_baked(
    started: dict[str, str], shell_dir: str | None, overwrite: bool, options: list[str]
) -> None:
    answers = {**GOOD_ANSWERS, **STARTED, **started, "version": "x"}

    command = pre_gen.rerun_command(
        answers, ["version"], Path("/out/my_service"), shell_dir, overwrite
    )

    assert read_command(command)[1] == options


def test_rerun_command_derives_the_slug_again_from_a_fixed_name() -> None:
    derived = {
        **GOOD_ANSWERS,
        **STARTED,
        "project_name": " ",
        "project_slug": "service",
    }
    typed = {**derived, "project_slug": "billing"}

    for answers, slug in ((derived, None), (typed, "billing")):
        command = pre_gen.rerun_command(answers, ["project_name"], Path("/out/x"))
        assert read_command(command)[2].get("project_slug") == slug


def test_rerun_command_under_cruft_is_cruft_create() -> None:
    answers = {**GOOD_ANSWERS, "_template": "https://x/t.git", "_commit": "abc"}
    answers["description"] = "{{ 7*7 }}"

    command = pre_gen.rerun_command(answers, ["version"], Path("/out/my_service"))

    assert command is not None
    words = shlex.split(command)
    assert words[:-2] == [
        "cruft",
        "create",
        "--output-dir",
        "/out",
        answers["_template"],
    ]
    assert words[-2] == "--extra-context"
    kept = json.loads(words[-1])
    assert JINJA.from_string(kept.pop("description")).render() == "{{ 7*7 }}"
    assert kept == {
        k: answers[k] for k in pre_gen.RULES if k not in ("version", "description")
    }


def test_no_rerun_command_without_the_template() -> None:
    assert pre_gen.rerun_command(GOOD_ANSWERS, ["version"], Path("/out/x")) is None


# --- the command, printed and run through cookiecutter ---------------------


def test_refused_slug_says_how_to_bake_again_under_no_traceback(
    tmp_path: Path, cookiecutter_env: dict[str, str]
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    # The user's shell is elsewhere: the command must say where to bake.
    env = {**cookiecutter_env, "PWD": str(tmp_path)}
    typed = "X\n2fast_api\n" + "\n" * 9  # the answers

    result = answer(
        [COOKIECUTTER, "--output-dir", output, TEMPLATE_DIR], typed, env, tmp_path
    )

    assert result.returncode == 1
    kept = {**GOOD_ANSWERS, "project_name": "X"}
    del kept["project_slug"]
    assert result.stderr.splitlines()[:2] == [
        'error: project_slug "2fast_api" is not accepted: it must start with a letter.',
        "To bake again, run this (Enter keeps each answer you gave;"
        " project_slug is asked afresh):",
    ]
    assert printed_command(result.stderr) == [
        "cookiecutter",
        *("--output-dir", str(output), str(TEMPLATE_DIR)),
        *(f"{field}={value}" for field, value in kept.items()),
    ]
    assert len(result.stderr.splitlines()) == 3
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.endswith(
        "ERROR: Stopping generation because pre_gen_project hook script didn't"
        " exit successfully\nHook script failed (exit status: 1)\n"
    )
    assert list(output.iterdir()) == []


def test_printed_command_bakes_with_every_other_answer_kept(tmp_path: Path) -> None:
    # A config of this test's own: its replay file holds each run's answers.
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    replay = tmp_path / "replay" / f"{TEMPLATE_DIR.name}.json"
    output = tmp_path / "out"
    output.mkdir()
    # Run from the output directory, as a user does: no --output-dir needed.
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(config), "PWD": str(output)}
    description = "Says {{ 7*7 }} & it's {% raw %} `x` $HOME"
    typed = [AWKWARD_NAME, "2fast_api", description, AWKWARD_AUTHOR]
    typed += ["o'brien@example.com", "1.0.0rc1", "3", "4", "2", "3", "2"]

    first = answer([COOKIECUTTER, TEMPLATE_DIR], "\n".join([*typed, ""]), env, output)

    assert first.returncode == 1, first.stdout + first.stderr
    answered = json.loads(replay.read_text())["cookiecutter"]
    command = printed_command(first.stderr)
    assert command[:2] == ["cookiecutter", str(TEMPLATE_DIR)]  # no --output-dir
    # Enter keeps each answer; the slug is typed when it is asked.
    again = answer([COOKIECUTTER, *command[1:]], "\nfast_api" + "\n" * 10, env, output)

    assert again.returncode == 0, again.stdout + again.stderr
    baked = json.loads(replay.read_text())["cookiecutter"]
    assert {key: baked[key] for key in VARIABLES} == {
        **{key: answered[key] for key in VARIABLES},
        "project_slug": "fast_api",
    }
    assert baked["python_version"] == "3.13"  # a kept choice is its default
    meta = tomllib.loads((output / "fast_api" / "pyproject.toml").read_text())
    assert meta["project"]["description"] == description
