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
from typing import Annotated, Any, Literal, get_args

import pydantic_settings
import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
{%- if cookiecutter.auth == 'jwt' %}
    Field,
    NonNegativeFloat,
{%- endif %}
    NonNegativeInt,
    PositiveFloat,
{%- if cookiecutter.database != 'none' %}
    PositiveInt,
{%- endif %}
    SecretStr,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from quart import Quart, current_app

# settings.yml sits in the package, beside the code it configures.
PACKAGED_SETTINGS = Path(__file__).parent.parent / "settings.yml"
SETTINGS_FILE_VARIABLE = "QUART_SETTINGS"
PACKAGE = __name__.partition(".")[0]
ENV_PREFIX = "{{ cookiecutter.project_slug | upper }}"
EXTENSION = "settings"


class SettingsError(RuntimeError):
    """A setting, or a settings file, that stops startup."""


def upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def number(value: Any) -> Any:
    """YAML's true and false are no numbers (pydantic would take them as 1, 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def url(value: str) -> str:
    """A URL the service calls: http or https only."""
    if not value.startswith(("http://", "https://")) or " " in value:
        raise ValueError("must be an http:// or https:// URL")
    return value


def origin(value: str) -> str:
    """A browser origin as CORS compares it: scheme://host[:port], no path."""
    host = value.partition("://")[2]
    if url(value) and (not host or any(c in host for c in "/?#\t\n")):
        raise ValueError("must be scheme://host[:port], like https://app.example.com")
    return value


Seconds = Annotated[PositiveFloat, BeforeValidator(number)]
Count = Annotated[NonNegativeInt, BeforeValidator(number)]
Origin = Annotated[str, AfterValidator(origin)]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(upper)
]
LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
{%- if cookiecutter.auth == 'jwt' %}

# The asymmetric algorithms PyJWT verifies: a token's signature can only be
# checked with a public key, never with a shared secret.
ASYMMETRIC_ALGORITHMS = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES256K", "ES384", "ES512", "EdDSA"),
)


def text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def asymmetric(value: str) -> str:
    if value not in ASYMMETRIC_ALGORITHMS:
        raise ValueError(f"must be one of {', '.join(ASYMMETRIC_ALGORITHMS)}")
    return value


def secret_text(value: SecretStr) -> SecretStr:
    text(value.get_secret_value())
    return value


Text = Annotated[str, AfterValidator(text)]
Url = Annotated[str, AfterValidator(url)]
Algorithm = Annotated[str, AfterValidator(asymmetric)]
{%- endif %}
{%- if cookiecutter.database != 'none' %}


def recycle(value: int) -> int:
    if value != -1 and value < 1:
        raise ValueError("must be a whole number of seconds, or -1 for never")
    return value


PoolSize = Annotated[PositiveInt, BeforeValidator(number)]
Recycle = Annotated[int, BeforeValidator(number), AfterValidator(recycle)]
{%- endif %}


class Settings(BaseSettings):
    """Every setting, with its type and default; settings.yml documents each."""

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
{%- if cookiecutter.database != 'none' %}

    # The database; DATABASE_URL may hold a password.
{%- if cookiecutter.database == 'sqlite' %}
    DATABASE_URL: SecretStr = SecretStr(f"sqlite+aiosqlite:///{PACKAGE}.sqlite3")
{%- else %}
    DATABASE_URL: SecretStr = SecretStr(
        f"postgresql+asyncpg://{PACKAGE}@127.0.0.1:5432/{PACKAGE}"
    )
{%- endif %}
    DATABASE_POOL_SIZE: PoolSize = 5
    DATABASE_MAX_OVERFLOW: Count = 10
    DATABASE_POOL_TIMEOUT: Seconds = 10.0
    DATABASE_POOL_RECYCLE: Recycle = 1800
{%- if cookiecutter.database == 'postgresql' %}
    DATABASE_CONNECT_TIMEOUT: Seconds = 5.0
{%- endif %}
{%- endif %}

    # Calls to other services.
    CLIENT_CONNECT_TIMEOUT: Seconds = 2.0
    CLIENT_READ_TIMEOUT: Seconds = 10.0
{%- if cookiecutter.auth == 'jwt' %}

    # Bearer tokens the service verifies.
    JWT_PUBLIC_KEY: Text | None = None
    JWT_JWKS_URL: Url | None = None
    JWT_JWKS_CACHE_SECONDS: Seconds = 300.0
    JWT_JWKS_REFETCH_SECONDS: Seconds = 10.0
    JWT_ALGORITHMS: Annotated[list[Algorithm], Field(min_length=1)] = [
        *("RS256", "PS256", "ES256", "EdDSA")
    ]
    JWT_ISSUER: Text | None = None
    JWT_AUDIENCE: Text | None = None
    JWT_LEEWAY: Annotated[NonNegativeFloat, BeforeValidator(number)] = 30.0

    # Tokens the service fetches for its calls (client credentials).
    TOKEN_URL: Url | None = None
    TOKEN_SCOPE: Text | None = None
    CLIENT_ID: Text | None = None
    CLIENT_SECRET: Annotated[SecretStr, AfterValidator(secret_text)] | None = None
{%- endif %}

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
