"""The field types settings share: numbers that YAML's true and false are
not, seconds above 0, counts from 0, http(s) URLs and browser origins."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, NonNegativeInt, PositiveFloat


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
