"""The settings of the database: where it is and its connection pool."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, PositiveInt, SecretStr

from ..setting_types import Count, Seconds, number

# The package's name names the default database.
PACKAGE = __name__.partition(".")[0]
{%- if cookiecutter.database == 'sqlite' %}
DEFAULT_URL = f"sqlite+aiosqlite:///{PACKAGE}.sqlite3"
{%- else %}
DEFAULT_URL = f"postgresql+asyncpg://{PACKAGE}@127.0.0.1:5432/{PACKAGE}"
{%- endif %}


def recycle(value: int) -> int:
    if value != -1 and value < 1:
        raise ValueError("must be a whole number of seconds, or -1 for never")
    return value


PoolSize = Annotated[PositiveInt, BeforeValidator(number)]
Recycle = Annotated[int, BeforeValidator(number), AfterValidator(recycle)]


class DatabaseSettings(BaseModel):
    """The database's settings; DATABASE_URL may hold a password."""

    DATABASE_URL: SecretStr = SecretStr(DEFAULT_URL)
    DATABASE_POOL_SIZE: PoolSize = 5
    DATABASE_MAX_OVERFLOW: Count = 10
    DATABASE_POOL_TIMEOUT: Seconds = 10.0
    DATABASE_POOL_RECYCLE: Recycle = 1800
{%- if cookiecutter.database == 'postgresql' %}
    DATABASE_CONNECT_TIMEOUT: Seconds = 5.0
{%- endif %}
