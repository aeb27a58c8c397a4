"""Settings, in layers from lowest to highest precedence.

1. `settings.yml` packaged beside this module: the defaults.
2. A YAML file given to `create_app(settings=...)`, else the one named by the
   QUART_SETTINGS environment variable.
3. Environment variables named ENV_PREFIX + "_" + the key, JSON-parsed where
   they parse (`<PREFIX>_MAX_CONTENT_LENGTH=2048` is an int), else kept as
   strings.
4. The keyword overrides of `create_app`.

A layer may change a packaged default's value but not its type (None aside):
`<PREFIX>_MAX_CONTENT_LENGTH=1MB` stops startup instead of reaching Quart as a
string and breaking every request with a body. The serving settings also have
rules for their values (VALUE_RULES): `LOG_FORMAT: xml` stops startup too.

Files are read here rather than through `Config.from_file` because that joins a
relative path to the package instead of the working directory, silently drops
lowercase keys and fails obscurely on a file that is not a mapping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from quart import Config

# settings.yml sits in the package, beside the code it configures.
PACKAGED_SETTINGS = Path(__file__).parent.parent / "settings.yml"
SETTINGS_FILE_VARIABLE = "QUART_SETTINGS"
ENV_PREFIX = "{{ cookiecutter.project_slug | upper }}"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")

# A rule: a check of a setting's value, and how to say what it must be.
Rule = tuple[Callable[[Any], bool], str]


def at_least(lowest: int) -> Rule:
    return (
        lambda value: type(value) is int and value >= lowest,
        f"a whole number, {lowest} or more",
    )


SECONDS: Rule = (
    lambda value: type(value) in (int, float) and value > 0,
    "a number of seconds above 0",
)


# A browser origin as CORS compares it: scheme://host[:port], no path.
ORIGIN = re.compile(r"https?://[^/\s?#]+")
{%- if cookiecutter.auth == 'jwt' %}


# A URL a setting names: the service calls it, so only http and https.
def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


# The asymmetric algorithms PyJWT verifies: a token's signature can only be
# checked with a public key, never with a shared secret.
ASYMMETRIC_ALGORITHMS = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES256K", "ES384", "ES512", "EdDSA"),
)
OPTIONAL_TEXT: Rule = (
    lambda value: value is None or (isinstance(value, str) and value.strip() != ""),
    "text, or null for none",
)
OPTIONAL_URL: Rule = (
    lambda value: value is None or is_url(value),
    "an http:// or https:// URL, or null for none",
)
{%- endif %}

# The serving settings' rules, beyond their types: setting -> rule.
VALUE_RULES: dict[str, Rule] = {
    "LOG_LEVEL": (
        lambda value: isinstance(value, str) and value.upper() in LOG_LEVELS,
        f"one of {', '.join(LOG_LEVELS)}",
    ),
    "LOG_FORMAT": (lambda value: value in LOG_FORMATS, " or ".join(LOG_FORMATS)),
    "TRUSTED_PROXY_HOPS": at_least(0),
    "READINESS_TIMEOUT": SECONDS,
    "CLIENT_CONNECT_TIMEOUT": SECONDS,
    "CLIENT_READ_TIMEOUT": SECONDS,
    "RATE_LIMIT_REQUESTS": at_least(0),
    "RATE_LIMIT_PERIOD": SECONDS,
    "CORS_ALLOWED_ORIGINS": (
        lambda value: (
            isinstance(value, list)
            and all(isinstance(o, str) and ORIGIN.fullmatch(o) for o in value)
        ),
        "a list of origins, each scheme://host[:port] (https://app.example.com)",
    ),
{%- if cookiecutter.auth == 'jwt' %}
    "JWT_PUBLIC_KEY": OPTIONAL_TEXT,
    "JWT_JWKS_URL": OPTIONAL_URL,
    "JWT_JWKS_CACHE_SECONDS": SECONDS,
    "JWT_JWKS_REFETCH_SECONDS": SECONDS,
    "JWT_ALGORITHMS": (
        lambda value: (
            isinstance(value, list)
            and len(value) > 0
            and all(algorithm in ASYMMETRIC_ALGORITHMS for algorithm in value)
        ),
        f"a list of one or more of {', '.join(ASYMMETRIC_ALGORITHMS)}",
    ),
    "JWT_ISSUER": OPTIONAL_TEXT,
    "JWT_AUDIENCE": OPTIONAL_TEXT,
    "JWT_LEEWAY": (
        lambda value: type(value) in (int, float) and value >= 0,
        "a number of seconds, 0 or more",
    ),
    "TOKEN_URL": OPTIONAL_URL,
    "TOKEN_SCOPE": OPTIONAL_TEXT,
    "CLIENT_ID": OPTIONAL_TEXT,
    "CLIENT_SECRET": OPTIONAL_TEXT,
{%- endif %}
{%- if cookiecutter.database != 'none' %}
    "DATABASE_POOL_SIZE": at_least(1),
    "DATABASE_MAX_OVERFLOW": at_least(0),
    "DATABASE_POOL_TIMEOUT": SECONDS,
    "DATABASE_POOL_RECYCLE": (
        lambda value: type(value) is int and (value == -1 or value >= 1),
        "a whole number of seconds, or -1 for never",
    ),
{%- if cookiecutter.database == 'postgresql' %}
    "DATABASE_CONNECT_TIMEOUT": SECONDS,
{%- endif %}
{%- endif %}
}


class SettingsError(RuntimeError):
    """A settings file is missing, unreadable or malformed."""


def read_settings_file(path: Path) -> dict[str, Any]:
    """Return the settings a YAML file holds, or raise SettingsError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read settings file {path}: {error}") from error
    try:
        settings = yaml.safe_load(text)
    except yaml.YAMLError as error:
        message = f"settings file {path} is not valid YAML: {error}"
        raise SettingsError(message) from error
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
    return settings


def load_settings(
    settings_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the settings from every layer, lowest first, types checked."""
    defaults = read_settings_file(PACKAGED_SETTINGS)
    config = Config(PACKAGED_SETTINGS.parent, defaults)
    settings_file = settings_file or os.environ.get(SETTINGS_FILE_VARIABLE)
    if settings_file:
        config.update(read_settings_file(Path(settings_file)))
    config.from_prefixed_env(ENV_PREFIX)
    config.update(overrides or {})
    check_types(config, defaults)
    check_values(config)
    return dict(config)


def check_types(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Raise SettingsError for a value whose type is not its default's."""
    for key, default in defaults.items():
        value = config[key]
        if default is None or value is None or type(value) is type(default):
            continue
        if type(default) is float and type(value) is int:
            continue
        raise SettingsError(
            f"setting {key} = {value!r} must be of type {type(default).__name__},"
            f" like its packaged default {default!r}; it was set by a settings"
            f" file, {ENV_PREFIX}_{key} or create_app"
        )


def check_values(config: Mapping[str, Any]) -> None:
    """Raise SettingsError for a serving setting its rule refuses."""
    for key, (allowed, rule) in VALUE_RULES.items():
        if key in config and not allowed(config[key]):
            raise SettingsError(f"setting {key} = {config[key]!r} must be {rule}")
