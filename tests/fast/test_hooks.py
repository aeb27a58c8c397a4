"""The hooks: every pre-gen rule as a unit and through cookiecutter, the hooks
rendered the way cookiecutter renders them, and the post-gen hook."""

from __future__ import annotations

import ast
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.environment import StrictEnvironment
from hypothesis import given
from hypothesis import strategies as st

from contexts import AWKWARD_AUTHOR, AWKWARD_DESCRIPTION, AWKWARD_NAME, DEFAULTS
from helpers import COOKIECUTTER, TEMPLATE_DIR, load_hook, run

HOOKS = TEMPLATE_DIR / "hooks"


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")

GOOD_ANSWERS = {
    "project_name": "My Service",
    "project_slug": "my_service",
    "description": "A Quart microservice.",
    "author_name": "Your Name",
    "author_email": "you@example.com",
    "version": "0.1.0",
    "python_version": "3.11",
    "license": "MIT",
    "asgi_server": "hypercorn",
    "database": "sqlite",
    "auth": "none",
}

# (field, bad value, the rule its message must state), one per rule; ending in
# ".", the whole rule: a value is told only the rules it breaks.
CHARACTERS = "may hold only ASCII letters, digits and underscores, not"
BAD_ANSWERS = [
    ("project_slug", "my-service", f'{CHARACTERS} "-".'),
    ("project_slug", "my service!", f'{CHARACTERS} " " or "!".'),
    ("project_slug", "zürich", f'{CHARACTERS} "ü".'),
    ("project_slug", "2fast_api", "must start with a letter."),
    ("project_slug", "3d_service", "must start with a letter."),
    ("project_slug", "_private", "must start with a letter."),
    ("project_slug", "MyService", "must be lowercase."),
    ("project_slug", "service_", "must end with a letter or digit."),
    ("project_slug", "a" * 41, "must be at most 40 characters long."),
    ("project_slug", "class", "must not be a Python keyword"),
    ("project_slug", "match", "must not be a Python keyword"),
    ("project_slug", "asyncio", "must not shadow a standard library module"),
    ("project_slug", "json", "must not shadow a standard library module"),
    ("project_slug", "test", "must not shadow a dependency"),
    ("project_slug", "quart", "must not shadow a dependency"),
    ("project_slug", "hypercorn", "must not shadow a dependency"),
    ("project_slug", "yaml", "must not shadow a dependency"),
    ("project_slug", "pytest", "must not shadow a dependency"),
    ("project_slug", "tests", "must not shadow a dependency"),
    ("project_name", "", "must not be empty"),
    ("project_name", "   ", "must not be empty"),
    ("project_name", "Two\nLines", "must be a single line"),
    ("description", "Tab\there", "must be a single line"),
    ("description", "Delete\x7f", "must be a single line"),
    ("author_name", "", "must not be empty"),
    ("author_name", "Ada\x1bLovelace", "must be a single line"),
    ("author_email", "not-an-email", "must be an email address"),
    ("author_email", "you@example", "must be an email address"),
    ("author_email", "two@@example.com", "must be an email address"),
    ("version", "one.two", "must be a PEP 440 version"),
    ("version", "1.0-final", "must be a PEP 440 version"),
    ("version", " 1.0", "must be a PEP 440 version"),
    ("python_version", "3.9", "must be one of 3.11, 3.12, 3.13"),
    ("license", "GPL-3.0", "must be one of MIT, Apache-2.0, BSD-3-Clause, Proprietary"),
    ("asgi_server", "gunicorn", "must be one of hypercorn, granian, uvicorn"),
    ("database", "mysql", "must be one of sqlite, postgresql, none"),
    ("auth", "basic", "must be one of none, jwt"),
    ("project_name", "Line\u2028Separator", "must be a single line"),
    ("description", "C1\x85control", "must be a single line"),
]
BAD_IDS = [f"{field}={value!r}" for field, value, _ in BAD_ANSWERS]


def expected_line(field: str, value: str, rule: str) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return f"error: {field} {shown} is not accepted: it {rule}"


def render_hook(name: str, answers: dict[str, str], into: Path) -> Path:
    """Render a hook as cookiecutter does: Jinja over the whole file."""
    context = {"cookiecutter": answers}
    source = (HOOKS / f"{name}.py").read_text(encoding="utf-8")
    rendered = StrictEnvironment(context=context).from_string(source).render(**context)
    path = into / f"{name}.py"
    path.write_text(rendered, encoding="utf-8")
    return path


# --- the rules, as units ---------------------------------------------------


def test_good_answers_pass() -> None:
    assert pre_gen.check_answers(GOOD_ANSWERS) == []


@pytest.mark.parametrize(("field", "value", "rule"), BAD_ANSWERS, ids=BAD_IDS)
def test_each_rule_names_field_value_and_rule(
    field: str, value: str, rule: str
) -> None:
    problems = pre_gen.check_answers({**GOOD_ANSWERS, field: value})

    assert len(problems) == 1
    assert problems[0].startswith(expected_line(field, value, rule))
    assert "\n" not in problems[0]


def test_every_bad_answer_gets_its_own_line() -> None:
    answers = {**GOOD_ANSWERS, "project_slug": "Bad-Slug", "version": "x"}

    problems = pre_gen.check_answers(answers)

    assert [line.split()[1] for line in problems] == ["project_slug", "version"]


def test_missing_or_non_text_answer_is_refused() -> None:
    answers = {**GOOD_ANSWERS, "version": 1}
    del answers["license"]

    problems = pre_gen.check_answers(answers)

    assert problems == [
        "error: version 1 is not accepted: it must be given as text.",
        "error: license null is not accepted: it must be given as text.",
    ]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My Service", "my_service"),
        ('Zürich "Payments" API', "zurich_payments_api"),
        ("Ça va? Déjà-vu!", "ca_va_deja_vu"),
        ("3D Renderer", "service_3d_renderer"),
        ("Test", "test_service"),
        ("Quart", "quart_service"),
        ("class", "class_service"),
        ("!!!", "service"),
        ("", "service"),
        ("日本語", "ri_ben_yu"),
        (
            "An Extremely Long Name for a Payments Service",
            "an_extremely_long_name_for_a_pay",
        ),
        ("1" * 50, "service_" + "1" * 32),
    ],
)
def test_derived_slug_examples(name: str, slug: str) -> None:
    assert pre_gen.derive_slug(name) == slug


@given(st.text())
def test_derived_slug_is_valid_for_any_project_name(name: str) -> None:
    assert pre_gen.check_slug(pre_gen.derive_slug(name)) is None


@pytest.mark.parametrize(
    ("slug", "rules"),
    [
        ("", "must not be empty"),
        ("Über", f'{CHARACTERS} "Ü"'),
        ("ÜBER", f'{CHARACTERS} "Ü"; it must be lowercase'),
        ("tab\there", f'{CHARACTERS} "\\t"'),
        ("__init__", "must start with a letter; it must end with a letter or digit"),
        (
            "2Fast-API_",
            f'{CHARACTERS} "-"; it must start with a letter; it must be lowercase;'
            " it must end with a letter or digit",
        ),
        ("service_2", None),
    ],
)
def test_slug_is_told_every_rule_it_breaks_and_no_other(
    slug: str, rules: str | None
) -> None:
    assert pre_gen.check_slug(slug) == rules


# --- the hooks rendered and run as cookiecutter runs them ------------------

# Tries to close the raw string the hooks hold the answers in (either quote
# style) and run code, and ends in a backslash.
HOSTILE = "x'''\"\"\" + __import__('os').system('touch pwned') + r'''\n\"}\\"


def test_rendered_pre_gen_accepts_awkward_answers(tmp_path: Path) -> None:
    answers = {
        **GOOD_ANSWERS,
        "project_name": AWKWARD_NAME,
        "author_name": AWKWARD_AUTHOR,
        "description": AWKWARD_DESCRIPTION,
        "author_email": "o'brien@example.com",
    }
    hook = render_hook("pre_gen_project", answers, tmp_path)

    result = run([sys.executable, hook], cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")


def test_rendered_pre_gen_reads_hostile_answers_as_data(tmp_path: Path) -> None:
    answers = {**GOOD_ANSWERS, "project_name": HOSTILE, "description": HOSTILE}
    hook = render_hook("pre_gen_project", answers, tmp_path)

    result = run([sys.executable, hook], cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        expected_line("project_name", HOSTILE, "must be a single line") + " with no"
        " control characters.",
        expected_line("description", HOSTILE, "must be a single line") + " with no"
        " control characters.",
    ]
    assert not (tmp_path / "pwned").exists()


def test_rendered_post_gen_runs_twice_and_prints_next_steps(tmp_path: Path) -> None:
    answers = {**GOOD_ANSWERS, "project_name": HOSTILE, "author_name": AWKWARD_AUTHOR}
    (tmp_path / "hook").mkdir()
    hook = render_hook("post_gen_project", answers, tmp_path / "hook")
    project = tmp_path / "my_service"
    project.mkdir()
    (project / "keep.txt").write_text("kept")

    for _ in range(2):
        result = run([sys.executable, hook], cwd=project)
        assert (result.returncode, result.stderr) == (0, "")
        assert f"cd {project}\n" in result.stdout
        for step in ("make install", "make migrate", "make run", "make test"):
            assert step in result.stdout
        assert "make serve" in result.stdout
        assert "make token" not in result.stdout  # auth=none
    assert [path.name for path in project.iterdir()] == ["keep.txt"]


def test_next_steps_name_what_each_choice_adds_and_nothing_else() -> None:
    project = Path("my_service")
    default = post_gen.next_steps(project, GOOD_ANSWERS)
    jwt = post_gen.next_steps(project, {**GOOD_ANSWERS, "auth": "jwt"})
    none = post_gen.next_steps(project, {**GOOD_ANSWERS, "database": "none"})

    assert "make token" in jwt
    assert "make token" not in default
    assert "make migrate" in default
    assert "make migrate" not in none


def test_post_gen_removes_only_other_option_values_files(tmp_path: Path) -> None:
    table = {
        "asgi_server": {
            "granian": ("{slug}/granian_conf.py", "shared.txt"),
            "uvicorn": ("{slug}/uvicorn_conf.py", "deploy/uvicorn", "shared.txt"),
        }
    }
    answers = {"project_slug": "svc", "asgi_server": "granian"}
    made = ["svc/granian_conf.py", "svc/uvicorn_conf.py", "deploy/uvicorn/x"]
    for relative in [*made, "shared.txt"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("")

    unused = post_gen.unused_paths(answers, table)
    post_gen.remove(tmp_path, unused)
    post_gen.remove(tmp_path, unused)  # a second run finds nothing to do

    assert unused == ["deploy/uvicorn", "svc/uvicorn_conf.py"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "deploy",
        "shared.txt",  # the chosen value lists it too
        "svc",
        "svc/granian_conf.py",
    ]


def test_hooks_import_nothing_that_shells_out_or_networks() -> None:
    allowed = {"__future__", "collections", "json", "keyword", "pathlib", "re"}
    allowed |= {"shlex", "shutil", "slugify", "sys"}
    for hook in HOOKS.glob("*.py"):
        tree = ast.parse(hook.read_text(encoding="utf-8"))
        imported = {
            name.split(".")[0]
            for node in ast.walk(tree)
            for name in (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.module != "os"
                else []
            )
        }
        assert imported <= allowed, f"{hook.name} imports {imported - allowed}"
        from_os = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "os"
            for alias in node.names
        }
        assert from_os <= {"environ"}, f"{hook.name} imports {from_os} from os"
        called = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not called & {"__import__", "eval", "exec", "compile", "open"}


# --- through cookiecutter: the message, and nothing left behind ------------


def bake_cli(
    output: Path, env: dict[str, str], *options: str
) -> subprocess.CompletedProcess[str]:
    """Run the cookiecutter CLI on the template; options may end in key=value pairs."""
    args = [COOKIECUTTER, "--output-dir", output, TEMPLATE_DIR, *options]
    return run(args, cwd=output, env=env, timeout=60)


@pytest.mark.parametrize(("field", "value", "rule"), BAD_ANSWERS, ids=BAD_IDS)
def test_cookiecutter_refuses_bad_answer_and_leaves_nothing(
    tmp_path: Path, cookiecutter_env: dict[str, str], field: str, value: str, rule: str
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    if field in ("python_version", "license", "asgi_server", "database", "auth"):
        # Given as key=value, an unknown choice is refused by cookiecutter
        # itself (tested below); a replay file brings it to the hook.
        replay = tmp_path / "replay.json"
        answers = {**GOOD_ANSWERS, field: value, "_extensions": DEFAULTS["_extensions"]}
        replay.write_text(json.dumps({"cookiecutter": answers}))
        options = ["--replay-file", str(replay)]
    else:
        options = ["--no-input", f"{field}={value}"]

    result = bake_cli(output, cookiecutter_env, *options)

    assert result.returncode != 0
    assert expected_line(field, value, rule) in result.stderr
    assert f"{field} is asked afresh" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert list(output.iterdir()) == []


def printed_command(stderr: str) -> list[str]:
    """The command a refusal prints to bake again, as the shell splits it."""
    lines = stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("To bake again"))
    return shlex.split(lines[at + 1])


def test_refused_bake_over_an_existing_folder_loses_nothing(
    tmp_path: Path, cookiecutter_env: dict[str, str]
) -> None:
    project = tmp_path / "my_service"
    project.mkdir()
    (project / "notes.txt").write_text("mine")

    result = bake_cli(
        tmp_path, cookiecutter_env, "--no-input", "-f", "author_email=nope"
    )

    assert result.returncode != 0
    assert "error: author_email" in result.stderr
    # The same folder again needs -f again (-s cannot be seen: the line says so).
    assert "-f" in printed_command(result.stderr)
    assert f"(-f as before: {project} already held files" in result.stderr
    assert [p.name for p in project.iterdir()] == ["notes.txt"]
    assert (project / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("python_version", "3.9"),
        ("license", "GPL"),
        ("asgi_server", "daphne"),
        ("database", "oracle"),
        ("auth", "oauth"),
    ],
)
def test_unknown_choice_on_the_command_line_leaves_nothing(
    tmp_path: Path, cookiecutter_env: dict[str, str], field: str, value: str
) -> None:
    result = bake_cli(tmp_path, cookiecutter_env, "--no-input", f"{field}={value}")

    assert result.returncode != 0
    assert f"{value} provided for choice variable {field}" in result.stderr
    assert list(tmp_path.iterdir()) == []
