"""Each settings layer, its precedence, and the errors for a bad file."""

from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core import settings
from {{ cookiecutter.project_slug }}.core.settings import (
    ENV_PREFIX,
    SettingsError,
)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.yml"
    path.write_text("MAX_CONTENT_LENGTH: 2048\nGREETING: from file\n")
    return path


def test_packaged_defaults_are_loaded() -> None:
    app = create_app()

    assert app.config["MAX_CONTENT_LENGTH"] == 1048576
    assert app.config["PROPAGATE_EXCEPTIONS"] is False


def test_quart_settings_file_overrides_the_defaults(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_SETTINGS", str(settings_file))

    app = create_app()

    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["GREETING"] == "from file"


def test_relative_settings_path_is_read_from_the_working_directory(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(settings_file.parent)
    monkeypatch.setenv("QUART_SETTINGS", settings_file.name)

    assert create_app().config["GREETING"] == "from file"


def test_settings_argument_wins_over_quart_settings(
    settings_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.yml"
    other.write_text("GREETING: from argument\n")
    monkeypatch.setenv("QUART_SETTINGS", str(settings_file))

    app = create_app(settings=other)

    assert app.config["GREETING"] == "from argument"
    assert app.config["MAX_CONTENT_LENGTH"] == 1048576


def test_environment_overrides_the_file(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_MAX_CONTENT_LENGTH", "4096")
    monkeypatch.setenv(f"{ENV_PREFIX}_GREETING", "from environment")
    monkeypatch.setenv(f"{ENV_PREFIX}_FEATURES", '["a", "b"]')

    app = create_app(settings=settings_file)

    # JSON-parsed where the value parses, kept as a string where it does not.
    assert app.config["MAX_CONTENT_LENGTH"] == 4096
    assert app.config["GREETING"] == "from environment"
    assert app.config["FEATURES"] == ["a", "b"]


def test_keyword_overrides_win_over_everything(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_MAX_CONTENT_LENGTH", "4096")

    app = create_app(settings=settings_file, MAX_CONTENT_LENGTH=8192)

    assert app.config["MAX_CONTENT_LENGTH"] == 8192


def test_empty_settings_file_changes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("# nothing set here\n")

    assert create_app(settings=empty).config["MAX_CONTENT_LENGTH"] == 1048576


def test_missing_settings_file_stops_startup_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"

    with pytest.raises(SettingsError, match=r"cannot read settings file .*missing"):
        create_app(settings=missing)


def test_undecodable_settings_file_stops_startup_naming_it(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes("GREETING: café\n".encode("latin-1"))

    with pytest.raises(SettingsError, match=r"cannot read settings file .*latin1"):
        create_app(settings=latin1)


def test_missing_packaged_settings_stop_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PACKAGED_SETTINGS", tmp_path / "gone.yml")

    with pytest.raises(SettingsError, match=r"gone\.yml"):
        create_app()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("MAX_CONTENT_LENGTH: [1, 2\n", "is not valid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("debug: true\n", "keys must be UPPERCASE"),
        ("Debug: true\n", "keys must be UPPERCASE"),
    ],
    ids=["bad-yaml", "not-a-mapping", "lowercase-key", "mixed-case-key"],
)
def test_malformed_settings_file_stops_startup_naming_it(
    tmp_path: Path, content: str, problem: str
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(content)

    with pytest.raises(SettingsError, match=problem) as raised:
        create_app(settings=bad)
    assert str(bad) in str(raised.value)


def test_a_variable_of_the_wrong_type_stops_startup_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_MAX_CONTENT_LENGTH", "1MB")

    with pytest.raises(SettingsError, match="must be of type int") as raised:
        create_app()
    assert f"{ENV_PREFIX}_MAX_CONTENT_LENGTH" in str(raised.value)


@pytest.mark.parametrize(
    ("key", "value", "wanted"),
    [("PROPAGATE_EXCEPTIONS", 1, "bool"), ("MAX_CONTENT_LENGTH", 1.5, "int")],
)
def test_an_override_of_the_wrong_type_stops_startup(
    key: str, value: Any, wanted: str
) -> None:
    expected = f"{key} = {value} must be of type {wanted}"
    with pytest.raises(SettingsError, match=expected):
        create_app(**{key: value})


def test_null_lifts_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_MAX_CONTENT_LENGTH", "null")

    assert create_app().config["MAX_CONTENT_LENGTH"] is None


def test_an_int_may_stand_for_a_float_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = tmp_path / "defaults.yml"
    defaults.write_text("TIMEOUT_SECONDS: 2.5\n")
    monkeypatch.setattr(settings, "PACKAGED_SETTINGS", defaults)

    loaded = settings.load_settings(overrides={"TIMEOUT_SECONDS": 3})

    assert loaded["TIMEOUT_SECONDS"] == 3


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("LOG_LEVEL", None, "one of DEBUG"),
        ("LOG_FORMAT", "xml", "json or text"),
        ("TRUSTED_PROXY_HOPS", -1, "a whole number, 0 or more"),
        ("READINESS_TIMEOUT", 0, "a number of seconds above 0"),
        ("READINESS_TIMEOUT", None, "a number of seconds above 0"),
    ],
)
def test_serving_settings_outside_their_rule_stop_startup(
    key: str, value: Any, rule: str
) -> None:
    with pytest.raises(SettingsError, match=f"setting {key} = .* must be {rule}"):
        create_app(**{key: value})


def test_log_level_is_case_blind() -> None:
    assert create_app(LOG_LEVEL="debug").config["LOG_LEVEL"] == "debug"


@pytest.mark.settings(RATE_LIMIT_REQUESTS=1)
async def test_a_test_marked_with_settings_gets_an_app_with_them(
    app: Quart, client: Client
) -> None:
    first, second = await client.get("/"), await client.get("/")

    assert app.config["RATE_LIMIT_REQUESTS"] == 1
    assert (first.status_code, second.status_code) == (200, 429)


async def test_an_unmarked_test_gets_the_packaged_settings(app: Quart) -> None:
    assert app.config["RATE_LIMIT_REQUESTS"] == 0
