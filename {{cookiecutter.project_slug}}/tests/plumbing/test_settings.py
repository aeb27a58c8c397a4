"""The settings model: each layer and its precedence, each value parsed by its
field's type, and one line (never a secret) for a key or value refused."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from quart import Quart
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core import (
    Settings,
    current_settings,
    settings,
)
from {{ cookiecutter.project_slug }}.core.settings import (
    ENV_PREFIX,
    SettingsError,
    load_settings,
    settings_of,
)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.yml"
    path.write_text("MAX_CONTENT_LENGTH: 2048\nLOG_LEVEL: DEBUG\n")
    return path


def test_packaged_defaults_are_loaded() -> None:
    app = create_app()

    assert settings_of(app).MAX_CONTENT_LENGTH == 1048576
    assert settings_of(app).LOG_FORMAT == "json"


def test_quarts_own_keys_reach_its_config() -> None:
    app = create_app(MAX_CONTENT_LENGTH=2048, TESTING=True)

    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["PROPAGATE_EXCEPTIONS"] is False
    assert app.config["TESTING"] is True
    assert "LOG_FORMAT" not in app.config


def test_the_packaged_file_documents_every_setting_with_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith(f"{ENV_PREFIX}_"):
            monkeypatch.delenv(name)
    packaged = yaml.safe_load(settings.PACKAGED_SETTINGS.read_text())
    defaults = Settings(API_TITLE=packaged["API_TITLE"])

    assert set(packaged) == set(Settings.model_fields)
    assert load_settings() == defaults


def test_quart_settings_file_overrides_the_defaults(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_SETTINGS", str(settings_file))

    loaded = load_settings()

    assert (loaded.MAX_CONTENT_LENGTH, loaded.LOG_LEVEL) == (2048, "DEBUG")


def test_relative_settings_path_is_read_from_the_working_directory(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(settings_file.parent)
    monkeypatch.setenv("QUART_SETTINGS", settings_file.name)

    assert settings_of(create_app()).MAX_CONTENT_LENGTH == 2048


def test_settings_argument_wins_over_quart_settings(
    settings_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.yml"
    other.write_text("LOG_LEVEL: ERROR\n")
    monkeypatch.setenv("QUART_SETTINGS", str(settings_file))

    loaded = settings_of(create_app(settings=other))

    assert (loaded.MAX_CONTENT_LENGTH, loaded.LOG_LEVEL) == (1048576, "ERROR")


def test_environment_overrides_the_file(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_MAX_CONTENT_LENGTH", "4096")
    monkeypatch.setenv(f"{ENV_PREFIX}_CORS_ALLOWED_ORIGINS", '["https://a.example"]')

    loaded = load_settings(settings_file)

    assert loaded.MAX_CONTENT_LENGTH == 4096
    assert loaded.LOG_LEVEL == "DEBUG"
    assert loaded.CORS_ALLOWED_ORIGINS == ["https://a.example"]


def test_keyword_overrides_win_over_everything(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_MAX_CONTENT_LENGTH", "4096")

    app = create_app(settings=settings_file, MAX_CONTENT_LENGTH=8192)

    assert settings_of(app).MAX_CONTENT_LENGTH == 8192


def test_text_stays_text_whatever_it_looks_like(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = tmp_path / "title.yml"
    title.write_text("API_TITLE: 1.0\n")
    monkeypatch.setenv(f"{ENV_PREFIX}_LOG_FORMAT", "text")

    assert load_settings(title).API_TITLE == "1.0"
    monkeypatch.setenv(f"{ENV_PREFIX}_API_TITLE", "12345")
    assert load_settings(title).API_TITLE == "12345"
{%- if cookiecutter.auth == 'jwt' %}


@pytest.mark.parametrize("key", ["JWT_AUDIENCE", "CLIENT_ID"])
def test_a_number_in_a_text_setting_is_text(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_{key}", "12345")

    assert getattr(settings_of(create_app()), key) == "12345"


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("JWT_AUDIENCE", " ", "must not be blank"),
        ("JWT_ALGORITHMS", ["HS256"], "must be one of RS256, RS384"),
        ("JWT_ALGORITHMS", [], "list should have at least 1 item"),
        ("TOKEN_URL", "ftp://tokens.example", "must be an http:// or https:// URL"),
    ],
)
def test_bearer_token_settings_outside_their_rule_stop_startup(
    key: str, value: Any, rule: str
) -> None:
    with pytest.raises(SettingsError, match=f"setting {key}.* = .*: {rule}"):
        load_settings(overrides={key: value})
{%- endif %}


def test_empty_settings_file_changes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("# nothing set here\n")

    assert load_settings(empty) == load_settings()


def test_a_misspelt_key_in_a_settings_file_stops_startup_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prod = tmp_path / "prod.yml"
    prod.write_text("LOG_LEVL: DEBUG\n")
    monkeypatch.setenv("QUART_SETTINGS", str(prod))

    with pytest.raises(SettingsError) as raised:
        create_app()
    assert str(raised.value) == (
        f"settings file {prod}: LOG_LEVL is not a setting (did you mean LOG_LEVEL?)"
    )


def test_a_misspelt_variable_stops_startup_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_LOG_LEVL", "DEBUG")

    with pytest.raises(SettingsError) as raised:
        create_app()
    assert str(raised.value) == (
        f"environment: {ENV_PREFIX}_LOG_LEVL is not a setting"
        f" (did you mean {ENV_PREFIX}_LOG_LEVEL?)"
    )


def test_an_unknown_override_names_no_match_when_none_is_close() -> None:
    with pytest.raises(SettingsError) as raised:
        create_app(GREETING="Hello")
    assert str(raised.value) == "create_app: GREETING is not a setting"


def test_missing_settings_file_stops_startup_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"

    with pytest.raises(SettingsError, match=r"cannot read settings file .*missing"):
        create_app(settings=missing)


def test_undecodable_settings_file_stops_startup_naming_it(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes("API_TITLE: café\n".encode("latin-1"))

    with pytest.raises(SettingsError, match=r"cannot read settings file .*latin1"):
        create_app(settings=latin1)


def test_missing_packaged_settings_stop_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PACKAGED_SETTINGS", tmp_path / "gone.yml")

    with pytest.raises(SettingsError, match=r"gone\.yml"):
        create_app()


def test_a_setting_without_a_default_must_be_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PACKAGED_SETTINGS", tmp_path / "empty.yml")
    settings.PACKAGED_SETTINGS.write_text("")

    with pytest.raises(SettingsError) as raised:
        create_app()
    assert str(raised.value) == "setting API_TITLE (default): field required"


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

    with pytest.raises(SettingsError) as raised:
        create_app()
    assert str(raised.value) == (
        f"setting MAX_CONTENT_LENGTH = '1MB' (environment: {ENV_PREFIX}"
        "_MAX_CONTENT_LENGTH): input should be a valid integer, unable to parse"
        " string as an integer"
    )
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_a_variable_that_is_not_json_for_a_list_stops_startup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_CORS_ALLOWED_ORIGINS", "https://a.example")

    with pytest.raises(SettingsError, match=r"environment: .*CORS_ALLOWED_ORIGINS"):
        create_app()


def test_a_bad_value_in_a_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("TRUSTED_PROXY_HOPS: true\n")

    with pytest.raises(SettingsError) as raised:
        create_app(settings=bad)
    assert str(raised.value) == (
        f"setting TRUSTED_PROXY_HOPS = True (settings file {bad}):"
        " must be a number, not true or false"
    )


@pytest.mark.parametrize(
    ("key", "value", "wanted"),
    [
        ("PROPAGATE_EXCEPTIONS", "maybe", "input should be a valid boolean"),
        ("MAX_CONTENT_LENGTH", 1.5, "input should be a valid integer"),
    ],
)
def test_an_override_of_the_wrong_type_stops_startup(
    key: str, value: Any, wanted: str
) -> None:
    expected = f"setting {key} = {value!r} (create_app): {wanted}"
    with pytest.raises(SettingsError, match=re.escape(expected)):
        create_app(**{key: value})


def test_null_lifts_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_MAX_CONTENT_LENGTH", "null")

    assert create_app().config["MAX_CONTENT_LENGTH"] is None


def test_a_whole_number_may_stand_for_seconds() -> None:
    assert load_settings(overrides={"READINESS_TIMEOUT": 3}).READINESS_TIMEOUT == 3.0


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("LOG_LEVEL", "LOUD", "input should be 'DEBUG', 'INFO', 'WARNING'"),
        ("LOG_LEVEL", None, "input should be 'DEBUG'"),
        ("LOG_FORMAT", "xml", "input should be 'json' or 'text'"),
        ("TRUSTED_PROXY_HOPS", -1, "input should be greater than or equal to 0"),
        ("READINESS_TIMEOUT", 0, "input should be greater than 0"),
        ("READINESS_TIMEOUT", None, "input should be a valid number"),
    ],
)
def test_serving_settings_outside_their_rule_stop_startup(
    key: str, value: Any, rule: str
) -> None:
    with pytest.raises(SettingsError, match=f"setting {key} = .*: {rule}"):
        create_app(**{key: value})


def test_every_refused_value_is_on_one_line() -> None:
    with pytest.raises(SettingsError) as raised:
        create_app(LOG_FORMAT="xml", CORS_ALLOWED_ORIGINS=["https://a.example/x"])
    assert str(raised.value) == (
        "setting LOG_FORMAT = 'xml' (create_app): input should be 'json' or 'text';"
        " setting CORS_ALLOWED_ORIGINS[0] = 'https://a.example/x' (create_app):"
        " must be scheme://host[:port], like https://app.example.com"
    )


def test_an_origin_is_http_or_https() -> None:
    with pytest.raises(SettingsError, match=r"\[0\] = 'ftp://a.example' .*: must be"):
        create_app(CORS_ALLOWED_ORIGINS=["ftp://a.example"])


def test_log_level_is_case_blind() -> None:
    assert load_settings(overrides={"LOG_LEVEL": "debug"}).LOG_LEVEL == "DEBUG"
{%- if cookiecutter.auth == 'jwt' or cookiecutter.database != 'none' %}


@pytest.mark.parametrize(
    ("key", "secret"),
    [
{%- if cookiecutter.auth == 'jwt' %}
        ("CLIENT_SECRET", "hunter2"),
{%- endif %}
{%- if cookiecutter.database != 'none' %}
        ("DATABASE_URL", "postgresql://user:hunter2@db.example/service"),
{%- endif %}
    ],
)
def test_a_secret_is_never_shown(
    key: str, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_{key}", secret)
    loaded = load_settings()

    with pytest.raises(SettingsError) as raised:
        load_settings(overrides={key: [secret]})

    assert getattr(loaded, key).get_secret_value() == secret
    assert "hunter2" not in repr(loaded) + str(loaded) + str(raised.value)
    assert str(raised.value).startswith(f"setting {key} (create_app): ")
{%- endif %}


async def test_a_view_reads_the_settings_through_the_front_door() -> None:
    app = create_app(LOG_FORMAT="text")

    async with app.app_context():
        assert current_settings() is settings_of(app)
        assert current_settings().LOG_FORMAT == "text"


@pytest.mark.settings(RATE_LIMIT_REQUESTS=1)
async def test_a_test_marked_with_settings_gets_an_app_with_them(
    app: Quart, client: Client
) -> None:
    first, second = await client.get("/"), await client.get("/")

    assert settings_of(app).RATE_LIMIT_REQUESTS == 1
    assert (first.status_code, second.status_code) == (200, 429)


async def test_an_unmarked_test_gets_the_packaged_settings(app: Quart) -> None:
    assert settings_of(app).RATE_LIMIT_REQUESTS == 0
