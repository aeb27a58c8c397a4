"""Settings: one typed model, `Settings`, filled from four layers, lowest first.

1. `settings.yml` packaged beside the code: every setting, documented.
2. A YAML file given to `create_app(settings=...)`, else the one named by the
   QUART_SETTINGS environment variable (relative to the working directory).
3. Environment variables ENV_PREFIX + "_" + the key.
4. The keyword overrides of `create_app`.

Keys are UPPERCASE everywhere. Each value is parsed by its field's type, so
text stays text (`<PREFIX>_API_TITLE=12345` is the string "12345"). A key
that names no setting, or a value its field refuses, stops startup with one
SettingsError line naming the source and the key; secrets (SecretStr) are
never shown. The app keeps its settings: `current_settings()` in a view.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, get_args

import pydantic_settings
import yaml
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from quart import Quart, current_app

{% if cookiecutter.auth == 'jwt' -%}
from .auth.settings import AuthSettings
{% endif -%}
{% if cookiecutter.database != 'none' -%}
from .database.settings import DatabaseSettings
{% endif -%}
from .setting_types import Count, LogFormat, LogLevel, Origin, Seconds

# settings.yml sits in the package, beside the code it configures.
PACKAGED_SETTINGS = Path(__file__).parent.parent / "settings.yml"
SETTINGS_FILE_VARIABLE = "QUART_SETTINGS"
ENV_PREFIX = "{{ cookiecutter.project_slug | upper }}"
EXTENSION = "settings"


class SettingsError(RuntimeError):
    """A setting, or a settings file, that stops startup."""


class Settings(
    BaseSettings,
{%- if cookiecutter.database != 'none' %}
    DatabaseSettings,
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}
    AuthSettings,
{%- endif %}
):
    """Every setting, with its type and default; settings.yml documents each.
    The settings of an option's own part are in its sub-package."""

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}_",
        case_sensitive=True,
        env_parse_none_str="null",
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
        hide_input_in_errors=True,
        validate_default=True,
    )

    # Quart's own keys: they reach app.config too.
    MAX_CONTENT_LENGTH: Count | None = 1048576
    PROPAGATE_EXCEPTIONS: bool = False

    # Logging.
    LOG_LEVEL: LogLevel = "INFO"
    LOG_FORMAT: LogFormat = "json"

    # Serving.
    TRUSTED_PROXY_HOPS: Count = 0
    HTTP2: bool = False
    READINESS_TIMEOUT: Seconds = 2.0

    # The API.
    API_TITLE: str  # no default here: the packaged file names the service
    RATE_LIMIT_REQUESTS: Count = 0
    RATE_LIMIT_PERIOD: Seconds = 60.0
    CORS_ALLOWED_ORIGINS: list[Origin] = []

    # Calls to other services.
    CLIENT_CONNECT_TIMEOUT: Seconds = 2.0
    CLIENT_READ_TIMEOUT: Seconds = 10.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SettingsFiles(settings_cls)


# The settings files' keys, merged, while load_settings builds a Settings.
_files: ContextVar[dict[str, Any]] = ContextVar("settings_files")


class SettingsFiles(PydanticBaseSettingsSource):
    """The layer below the environment: the packaged file, then the given one."""

    def get_field_value(
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:  # pragma: no cover - __call__ reads them all
        return self()[field_name], field_name, False

    def __call__(self) -> dict[str, Any]:
        return _files.get({})


def read_settings_file(path: Path) -> dict[str, Any]:
    """The settings a YAML file holds, each key a setting's, or SettingsError."""
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read settings file {path}: {error}") from None
    try:
        settings = yaml.safe_load(content)
    except yaml.YAMLError as error:
        message = f"settings file {path} is not valid YAML: {error}"
        raise SettingsError(message) from None
    if settings is None:  # an empty file, or only comments
        return {}
    if not isinstance(settings, dict):
        raise SettingsError(
            f"settings file {path} must hold a mapping of UPPERCASE keys,"
            f" not a {type(settings).__name__}"
        )
    lowercase = [k for k in settings if not (isinstance(k, str) and k.isupper())]
    if lowercase:
        raise SettingsError(
            f"settings file {path}: keys must be UPPERCASE, got {lowercase!r}"
        )
    check_known(settings, f"settings file {path}")
    return settings


def check_known(keys: Any, source: str, prefix: str = "") -> None:
    """Raise SettingsError for the first key that names no setting."""
    for key in keys:
        if key not in Settings.model_fields:
            close = difflib.get_close_matches(key, Settings.model_fields, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise SettingsError(f"{source}: {prefix}{key} is not a setting{hint}")


def load_settings(
    settings_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """The settings from every layer, each value parsed by its field's type."""
    overrides = dict(overrides or {})
    check_known(overrides, "create_app")
    prefix = f"{ENV_PREFIX}_"
    variables = sorted(name for name in os.environ if name.startswith(prefix))
    keys = {name.removeprefix(prefix): name for name in variables}
    check_known(keys, "environment", prefix)
    files = [(PACKAGED_SETTINGS, read_settings_file(PACKAGED_SETTINGS))]
    settings_file = settings_file or os.environ.get(SETTINGS_FILE_VARIABLE)
    if settings_file:
        path = Path(settings_file)
        files.append((path, read_settings_file(path)))
    sources = {key: f"settings file {path}" for path, values in files for key in values}
    sources.update({key: f"environment: {name}" for key, name in keys.items()})
    sources.update(dict.fromkeys(overrides, "create_app"))
    token = _files.set({k: v for _, values in files for k, v in values.items()})
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe(error, sources)) from None
    except pydantic_settings.SettingsError as error:  # a variable's JSON
        raise SettingsError(f"environment: {error}") from None
    finally:
        _files.reset(token)


def is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(map(is_secret, get_args(annotation)))


def describe(error: ValidationError, sources: Mapping[str, str]) -> str:
    """One line for every refused value: its key, its source and the rule."""
    problems = []
    for each in error.errors():
        key, *inside = (str(part) for part in each["loc"])
        name = key + "".join(f"[{part}]" for part in inside)
        field = Settings.model_fields.get(key)
        hidden = field is None or is_secret(field.annotation)
        if each["type"] != "missing" and not hidden:
            name += f" = {each['input']!r}"
        rule = each["msg"].removeprefix("Value error, ")
        rule = rule[:1].lower() + rule[1:]
        problems.append(f"setting {name} ({sources.get(key, 'default')}): {rule}")
    return "; ".join(problems)


def split_overrides(
    overrides: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The overrides that are settings, and those that are other keys of
    Quart's own (TESTING, DEBUG): the latter go to app.config as they are."""
    settings: dict[str, Any] = {}
    quart: dict[str, Any] = {}
    for key, value in overrides.items():
        own = key in Quart.default_config and key not in Settings.model_fields
        (quart if own else settings)[key] = value
    return settings, quart


def quart_config(settings: Settings) -> dict[str, Any]:
    """The settings that are also Quart's own keys, for app.config."""
    return {
        key: value
        for key, value in settings.model_dump().items()
        if key in Quart.default_config
    }


def settings_of(app: Quart) -> Settings:
    """The settings `app` was built with."""
    settings: Settings = app.extensions[EXTENSION]
    return settings


def current_settings() -> Settings:
    """The settings of the app handling the current request (or app context)."""
    return settings_of(current_app)
