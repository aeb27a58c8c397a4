"""The migrations build exactly the tables the models describe, both ways."""

import asyncio
import io
from argparse import Namespace
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import alembic_config
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from {{ cookiecutter.project_slug }}.core.database import (
    database_url as parse_url,
)
from {{ cookiecutter.project_slug }}.models import Base


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    found: list[Any] = compare_metadata(context, Base.metadata)
    return found


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    """Fails when a model changed without a migration: `make migration`."""
    engine = create_async_engine(parse_url(database_url))
    async with engine.connect() as connection:
        diff = await connection.run_sync(differences)
    await engine.dispose()

    assert diff == [], "run `make migration MSG=...` for these model changes"


async def test_every_migration_goes_down_and_up_again(database_url: str) -> None:
    config = alembic_config(database_url)
    engine = create_async_engine(parse_url(database_url))
    try:
        # alembic runs its own event loop: in a thread of its own here.
        await asyncio.to_thread(command.downgrade, config, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(table_names) <= {"alembic_version"}

        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            tables = await connection.run_sync(table_names)
        assert tables == {"alembic_version", *Base.metadata.tables}
    finally:
        await engine.dispose()


def test_alembic_prints_the_sql_offline(database_url: str) -> None:
    """`alembic upgrade head --sql`, as the alembic command runs it."""
    config = alembic_config(database_url)
    config.cmd_opts = Namespace()  # the command's own logging setup too
    config.output_buffer = io.StringIO()

    command.upgrade(config, "head", sql=True)

    assert "CREATE TABLE alembic_version" in config.output_buffer.getvalue()
