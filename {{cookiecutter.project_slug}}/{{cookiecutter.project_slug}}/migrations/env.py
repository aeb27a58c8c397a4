"""Alembic's entry point (alembic.ini): migrate the database the service's
settings name (DATABASE_URL) to match the models (models.Base.metadata).

Tests pass a URL of their own as `config.attributes["url"]`.
"""

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from {{ cookiecutter.project_slug }}.core.database.session import database_url
from {{ cookiecutter.project_slug }}.core.settings import load_settings
from {{ cookiecutter.project_slug }}.models import Base


def url() -> URL:
    given = context.config.attributes.get("url")
    return database_url(given or load_settings().DATABASE_URL.get_secret_value())


def number_revisions(
    _migration: MigrationContext, _revision: Any, directives: list[MigrationScript]
) -> None:
    """`make migration` numbers revisions in order (0001, 0002, ...), as the
    file names show them, instead of Alembic's random ids."""
    if getattr(context.config.cmd_opts, "rev_id", None):  # given with --rev-id
        return
    script = ScriptDirectory.from_config(context.config)
    numbers = [int(head) for head in script.get_heads() if head.isdigit()]
    directives[0].rev_id = f"{max(numbers, default=0) + 1:04d}"


def render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write a column type of the models' own (models/base.py) as the type
    it stores, so that a revision never imports the models."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=Base.metadata,
        # SQLite alters a table by copying it: batch mode does that for it.
        render_as_batch=url().get_backend_name() == "sqlite",
        process_revision_directives=number_revisions,
        render_item=render_item,
        **options,
    )


def run(connection: Connection) -> None:
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def migrate() -> None:
    engine = create_async_engine(url(), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run)
    await engine.dispose()


# The alembic command's own log lines (alembic.ini); not when a test runs it.
if context.config.cmd_opts is not None and context.config.config_file_name:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():  # `alembic upgrade --sql`: print the SQL
    configure(url=url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(migrate())
